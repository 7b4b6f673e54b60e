// The serial console end to end: `harrow console` in a real pseudo-terminal (login, `ip link show` prints the platform
// MAC, Ctrl-] leaves), KubeVirt's console WebSocket (one typing connection at a time, refusals as Status) and the
// bounded serial log (`harrow logs vm --console`, pods/log), on every runtime this machine runs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { CONSOLE_SUBPROTOCOL } from '../../src/resources/types.ts';
import { launcherPod, NS, runningVmOnLan, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';
import { harrowInPty } from './pty.ts';
import { runtimesUnderTest } from './runtimes.ts';

const MAC = '02:c0:50:1e:00:01';
/** The root shell's prompt; busybox ash then asks the terminal where the cursor is (ESC [ 6 n). */
// eslint-disable-next-line no-control-regex
const SHELL_PROMPT = /# (?:\x1b\[6n)?$/m;
const consoleUrl = (server: HarrowServer, vm: string): string =>
  `${server.url.replace(/^http/, 'ws')}/apis/subresources.kubevirt.io/v1/namespaces/${NS}/virtualmachineinstances/${vm}/console`;

/** Opens the console WebSocket as virtctl does; resolves to the socket, or to the HTTP status and body of a refusal. */
function connect(
  url: string,
  token: string,
): Promise<{ socket?: WebSocket; status?: number; body?: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, [CONSOLE_SUBPROTOCOL], {
      headers: { authorization: `Bearer ${token}` },
    });
    socket.once('open', () => resolve({ socket }));
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    socket.once('error', reject);
  });
}

for (const rt of runtimesUnderTest()) {
  describe(`serial console on ${rt.name}`, { skip: rt.skip ?? false }, () => {
    let server: HarrowServer;
    const vm = 'con-a';

    before(async () => {
      server = await startServer({ runtime: rt.name });
      await runningVmOnLan(server.client, vm, { mac: MAC, third: 61, timeoutMs: rt.timeoutMs });
    });
    after(() => server?.stop());

    it('harrow console in a terminal: login prompt, root logs in, ip link show prints the platform MAC, Ctrl-] leaves', async () => {
      const term = harrowInPty(['console', vm], { HARROW_KUBECONFIG: server.kubeconfig });
      try {
        await term.expect(/Successfully connected to con-a console/);
        // getty printed its prompt at boot; Enter asks for it again.
        const start = term.screen().length;
        term.type('\r');
        await term.expect(/login: $/m, { from: start, timeoutMs: rt.timeoutMs });
        const login = term.screen().length;
        term.type('root\r');
        await term.expect(SHELL_PROMPT, { from: login, timeoutMs: 30_000 });
        const command = term.screen().length;
        term.type('ip link show eth0\r');
        const shown = await term.expect(/link\/ether ([0-9a-f:]{17})/, { from: command });
        assert.equal(shown[1], MAC, 'the guest shows the platform MAC on its console');
        await term.expect(SHELL_PROMPT, { from: command + 10 });
        term.type('\x1d');
        assert.equal(await term.exited, 0, `harrow console exits 0 on Ctrl-]:\n${term.screen()}`);
      } finally {
        term.kill();
      }
    });

    it('harrow logs vm --console prints the serial output kept after the viewer left', async () => {
      const r = await server.cli(['logs', 'vm', vm, '--console']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /login: /);
      assert.match(r.stdout, new RegExp(`link/ether ${MAC}`));
      const tail = await server.cli(['logs', 'vm', vm, '--console', '--tail', '1']);
      assert.equal(tail.code, 0, tail.stderr);
      assert.ok(tail.stdout.split('\n').filter((l) => l !== '').length <= 1, tail.stdout);
      const pod = await launcherPod(server.client, vm);
      assert.ok(pod, 'the launcher pod');
      const text = await server.client.podLog(NS, pod.metadata.name, {
        container: 'guest-console-log',
      });
      assert.match(text, new RegExp(`link/ether ${MAC}`));
      const wrong = await server.cli(['logs', 'vm', vm]);
      assert.equal(wrong.code, 2, 'without --console: usage');
    });

    it('a second console connection takes over and the first one ends with the reason (KubeVirt: one console per VMI)', async () => {
      const first = await connect(consoleUrl(server, vm), server.token);
      assert.ok(first.socket, `first connection: ${first.status} ${first.body}`);
      assert.equal(first.socket.protocol, CONSOLE_SUBPROTOCOL);
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        first.socket!.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
      );
      const second = await connect(consoleUrl(server, vm), server.token);
      assert.ok(second.socket, `second connection: ${second.status} ${second.body}`);
      const end = await closed;
      assert.match(end.reason, /replaced/);
      let seen = '';
      second.socket.on('message', (d: Buffer) => (seen += d.toString('utf8')));
      second.socket.send(Buffer.from('\r'), { binary: true });
      await waitFor(() => /login: $/m.test(seen) || SHELL_PROMPT.test(seen), {
        timeoutMs: 30_000,
        message: 'the second connection types and sees the guest answer',
      });
      second.socket.close();
    });

    it('refusals are Status objects before the upgrade: unknown VMI 404, bad token 401, viewer 403, halted VM not found', async () => {
      const missing = await connect(consoleUrl(server, 'nope'), server.token);
      assert.equal(missing.status, 404, missing.body);
      assert.equal(JSON.parse(missing.body!).reason, 'NotFound');
      const anonymous = await connect(consoleUrl(server, vm), 'wrong-token');
      assert.equal(anonymous.status, 401, anonymous.body);
      await server.client.create(
        'VirtualMachine',
        { namespace: NS },
        virtualMachine('con-off', { runStrategy: 'Halted', mac: '02:c0:50:1e:00:02' }),
      );
      const r = await server.cli(['console', 'con-off']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /not found/i, 'a halted VM has no instance to attach to');
      const viewer = await server.cli([
        'token',
        'create',
        '--user',
        'vic',
        '--role',
        'viewer',
        '--namespaces',
        NS,
      ]);
      assert.equal(viewer.code, 0, viewer.stderr);
      const watching = await connect(consoleUrl(server, vm), viewer.stdout.trim());
      assert.equal(watching.status, 403, watching.body);
      assert.equal(JSON.parse(watching.body!).reason, 'Forbidden');
      const log = await server.cli([
        '--token',
        viewer.stdout.trim(),
        'logs',
        'vm',
        vm,
        '--console',
      ]);
      assert.equal(log.code, 1, 'a viewer reads no serial log');
      assert.match(log.stderr, /forbidden/i);
    });
  });
}
