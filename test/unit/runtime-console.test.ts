// A guest's serial console as both runtimes serve it: one typing connection at a time (a new one replaces the old, as
// KubeVirt's), read-only viewers beside it, a bounded log that outlives every viewer, and the sim's getty/login/shell.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { tailLines } from '../../src/apiserver/vmi-console.ts';
import { bearerTokenOf, chooseSubprotocol } from '../../src/apiserver/websocket-auth.ts';
import { ConsoleHub, MemoryConsoleLog, REPLACED_REASON } from '../../src/runtime/console.ts';
import { RotatingConsoleLog } from '../../src/runtime/qemu/console-log-file.ts';
import { createSimRuntime, type SimRuntime } from '../../src/runtime/sim/index.ts';
import type { ConsoleHandlers, NetworkSpec } from '../../src/runtime/types.ts';

function viewer(): ConsoleHandlers & { seen: () => string; closed: string[] } {
  let text = '';
  const closed: string[] = [];
  return {
    onData: (chunk) => (text += chunk.toString('utf8')),
    onClose: (reason) => closed.push(reason),
    seen: () => text,
    closed,
  };
}

describe('console hub', () => {
  it('gives output to every connection and input only from the newest interactive one, closing the one it replaced', () => {
    const typed: string[] = [];
    const hub = new ConsoleHub((d) => typed.push(d.toString()), new MemoryConsoleLog());
    const a = viewer();
    const b = viewer();
    const watcher = viewer();
    const first = hub.open(a);
    first.write('one');
    const seeOnly = hub.open(watcher, { readOnly: true });
    seeOnly.write('ignored');
    const second = hub.open(b);
    assert.deepEqual(a.closed, [REPLACED_REASON]);
    first.write('too late');
    second.write('two');
    hub.output(Buffer.from('hello'));
    assert.deepEqual(typed, ['one', 'two']);
    assert.equal(a.seen(), '');
    assert.equal(b.seen(), 'hello');
    assert.equal(watcher.seen(), 'hello');
    assert.equal(hub.connections, 2);
    second.close();
    assert.deepEqual(b.closed, [], 'a client that closes itself is not told');
    hub.closeAll('the guest stopped');
    assert.deepEqual(watcher.closed, ['the guest stopped']);
    assert.equal(hub.connections, 0);
  });

  it('keeps the newest bytes up to its bound, whoever is attached', async () => {
    const log = new MemoryConsoleLog(10);
    const hub = new ConsoleHub(() => undefined, log);
    hub.output(Buffer.from('0123456'));
    hub.output(Buffer.from('789abc'));
    assert.equal((await log.read()).toString(), '3456789abc');
    hub.output(Buffer.from('0123456789ABCDEF'));
    assert.equal((await log.read()).toString(), '6789ABCDEF');
  });
});

describe('rotating console log file', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps between half and all of its bound of the newest output, in order, on disk', async () => {
    dir = await mkdtemp(join(tmpdir(), 'harrow-console-'));
    const log = new RotatingConsoleLog(join(dir, 'serial.log'), 100);
    let all = '';
    for (let i = 0; i < 60; i++) {
      const line = `line ${String(i).padStart(2, '0')}\n`;
      all += line;
      log.append(Buffer.from(line));
    }
    const kept = (await log.read()).toString();
    assert.ok(kept.length >= 50 && kept.length <= 100, `${kept.length} bytes kept`);
    assert.ok(all.endsWith(kept), 'the newest output, in order');
    const sizes = (await stat(log.path)).size + (await stat(log.previousPath)).size;
    assert.ok(sizes <= 100, `files on disk hold ${sizes} bytes`);
    // Found again after a restart of Harrow: appends continue the same log.
    const again = new RotatingConsoleLog(join(dir, 'serial.log'), 100);
    again.append(Buffer.from('after restart\n'));
    assert.ok((await again.read()).toString().endsWith('line 59\nafter restart\n'));
  });
});

describe('sim guest serial console', () => {
  const net: NetworkSpec = {
    id: 'net9',
    name: 'default/net9',
    cidr: '198.18.9.0/24',
    gateway: '198.18.9.1',
    dhcpRange: { start: '198.18.9.10', end: '198.18.9.20' },
  };
  let rt: SimRuntime | undefined;
  afterEach(async () => rt?.close());

  const until = async (what: () => boolean, message: string): Promise<void> => {
    for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(what(), message);
  };

  it('login prompt, root logs in, ip link show prints the device MAC; the log keeps it after the viewer left', async () => {
    rt = createSimRuntime({ bootMs: 5 });
    await rt.ensureNetwork(net);
    const mac = '02:5e:00:00:00:09';
    await rt.setupPod({
      podUid: 'p1',
      namespace: 'default',
      podName: 'virt-launcher-a-x',
      interfaces: [
        { name: 'default', network: net, podInterfaceName: 'pod0', mac, binding: 'bridge' },
      ],
    });
    await rt.startGuest({
      vmiUid: 'v1',
      podUid: 'p1',
      namespace: 'default',
      name: 'a',
      cpus: 1,
      memoryMiB: 128,
      nics: [{ name: 'default', mac, podInterfaceName: 'pod0', networkId: net.id }],
    });
    const screen = viewer();
    const connection = await rt.openConsole('v1', screen);
    const log = async (): Promise<string> => (await rt!.consoleLog('v1')) ?? '';
    // getty's prompt at boot reaches the log whether or not anyone watches.
    for (let i = 0; i < 200 && !(await log()).includes('login: '); i++)
      await new Promise((r) => setTimeout(r, 10));
    connection.write('\r');
    await until(() => screen.seen().endsWith('login: '), `login prompt: ${screen.seen()}`);
    connection.write('guest\r');
    await until(() => /Login incorrect/.test(screen.seen()), 'only root may log in');
    connection.write('root\r');
    await until(() => screen.seen().endsWith('# '), `shell prompt: ${screen.seen()}`);
    connection.write('ip link show eth0\r');
    await until(() => screen.seen().includes(`link/ether ${mac}`), screen.seen());
    // What the console changes is the guest's, as with guest-exec.
    const prompts = (): number => screen.seen().split('# ').length;
    const before = prompts();
    connection.write('ip link set eth0 address 02:5e:00:00:00:99\r');
    await until(() => prompts() > before, 'the shell answers with a new prompt');
    const observed = await rt.observe('v1');
    assert.equal(observed?.nics[0]?.guestMac, '02:5e:00:00:00:99');
    connection.close();
    assert.match(await log(), new RegExp(`link/ether ${mac}`));
    assert.equal(await rt.consoleLog('nope'), undefined);
    await rt.stopGuest('v1');
    await assert.rejects(rt.openConsole('v1', viewer()), /Stopped/);
    assert.match(await log(), /login: /, 'the log outlives the guest until its pod goes');
  });
});

describe('console request helpers', () => {
  it('takes the bearer token from the header, else from the Kubernetes token subprotocol, never choosing it', () => {
    assert.equal(bearerTokenOf({ authorization: 'Bearer abc' }), 'abc');
    const carried = `base64url.bearer.authorization.k8s.io.${Buffer.from('harrow_x_y').toString('base64url')}`;
    assert.equal(
      bearerTokenOf({ 'sec-websocket-protocol': `plain.kubevirt.io, ${carried}` }),
      'harrow_x_y',
    );
    assert.equal(
      bearerTokenOf({ authorization: 'Basic zzz', 'sec-websocket-protocol': carried }),
      undefined,
    );
    assert.equal(bearerTokenOf({}), undefined);
    assert.equal(
      chooseSubprotocol(new Set(['plain.kubevirt.io', carried]), 'plain.kubevirt.io'),
      'plain.kubevirt.io',
    );
    assert.equal(chooseSubprotocol(new Set([carried]), 'plain.kubevirt.io'), false);
  });

  it('tailLines keeps the last N lines as kubectl logs --tail does', () => {
    assert.equal(tailLines('a\nb\nc\n', 2), 'b\nc\n');
    assert.equal(tailLines('a\nb\nc', 1), 'c');
    assert.equal(tailLines('a\n', 5), 'a\n');
    assert.equal(tailLines('a\nb\n', 0), '');
  });
});
