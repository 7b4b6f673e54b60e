// The qemu runtime against real QEMU guests, bridges, dnsmasq and nftables (root only; skipped with the reason otherwise).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createQemuRuntime,
  qemuAvailable,
  type QemuRuntime,
} from '../../src/runtime/qemu/index.ts';
import type {
  GuestObservation,
  GuestSpec,
  NetworkSpec,
  PodNetworkRequest,
  RuntimeEvent,
} from '../../src/runtime/types.ts';

const availability = await qemuAvailable();
const skip = availability.ok
  ? false
  : `qemu runtime unavailable: ${availability.why ?? 'unknown reason'}`;
const repo = resolve(import.meta.dirname, '..', '..');

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

function run(
  file: string,
  args: string[],
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  // A node --test child that inherits NODE_TEST_CONTEXT reports to this runner instead of exiting with its own status.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => key !== 'NODE_TEST_CONTEXT'),
  );
  return new Promise((done) => {
    execFile(
      file,
      args,
      { cwd, env, encoding: 'utf8', timeout: 180_000 },
      (error, stdout, stderr) => {
        done({
          code: error ? (typeof error.code === 'number' ? error.code : -1) : 0,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** Everything of one instance that the kernel or /proc can show: namespaces and processes. */
async function leftovers(instanceId: string, stateDir: string): Promise<string[]> {
  const found: string[] = [];
  const { stdout } = await run('ip', ['netns', 'list']);
  for (const line of stdout.split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    if (ns === `harrow-${instanceId}` || ns.startsWith(`hp-${instanceId}.`))
      found.push(`namespace ${ns}`);
  }
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    if (/State:\s+Z/.test(status)) continue;
    if (
      cmdline.includes(`harrow.${instanceId}.`) ||
      (cmdline.includes(stateDir) && cmdline.includes('dnsmasq'))
    ) {
      found.push(`process ${pid}: ${cmdline.replaceAll('\0', ' ').slice(0, 120)}`);
    }
  }
  return found;
}

const hasIpv4 = (observation: GuestObservation | undefined): boolean =>
  observation?.agent?.interfaces.some((nic) => nic.ipAddresses.some((ip) => !ip.includes(':'))) ===
  true;

describe('qemu runtime with real guests', { skip }, () => {
  const instanceId = `e2e${process.pid}`;
  let stateDir = '';
  let rt: QemuRuntime | undefined;
  const events: Array<RuntimeEvent & { at: number }> = [];

  const network: NetworkSpec = {
    id: 'n1',
    name: 'default/net1',
    cidr: '198.18.7.0/24',
    gateway: '198.18.7.1',
    dhcpRange: { start: '198.18.7.10', end: '198.18.7.99' },
  };
  const macs = ['02:e2:e0:00:00:01', '02:e2:e0:00:00:02'];
  const podRequest = (i: number): PodNetworkRequest => ({
    podUid: `pod-${i}`,
    namespace: 'default',
    podName: `virt-launcher-vm${i}-x`,
    interfaces: [
      { name: 'default', network, podInterfaceName: 'pod16f1', mac: macs[i]!, binding: 'bridge' },
    ],
  });
  const guestSpec = (i: number): GuestSpec => ({
    vmiUid: `vmi-${i}`,
    podUid: `pod-${i}`,
    namespace: 'default',
    name: `vm${i}`,
    cpus: 1,
    memoryMiB: 128,
    nics: [{ name: 'default', mac: macs[i]!, podInterfaceName: 'pod16f1', networkId: network.id }],
  });
  const runtime = (): QemuRuntime => {
    assert.ok(rt, 'runtime not created');
    return rt;
  };
  const ping = async (vmiUid: string, address: string): Promise<number> =>
    (await runtime().exec(vmiUid, ['ping', '-c', '1', '-W', '2', address], { timeoutMs: 15_000 }))
      .exitCode;
  const leaseOf = async (mac: string): Promise<string> =>
    waitFor(
      `a DHCP lease for ${mac}`,
      30_000,
      async () => (await runtime().leases(network.id)).find((lease) => lease.mac === mac)?.ip,
    );

  before(async () => {
    stateDir = await mkdtemp('/tmp/harrow-e2e-');
    rt = await createQemuRuntime({ instanceId, stateDir });
    rt.subscribe((event) => events.push({ ...event, at: Date.now() }));
  });

  after(async () => {
    await rt?.destroyAll();
    const left = await leftovers(instanceId, stateDir);
    await rm(stateDir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'destroyAll left things behind');
  });

  it('two guests on one network boot, get DHCP leases for their MACs, and reach each other and the gateway', async (t) => {
    await runtime().ensureNetwork(network);
    await runtime().ensureNetwork(network); // idempotent
    const started: number[] = [];
    for (const i of [0, 1]) {
      const statuses = await runtime().setupPod(podRequest(i));
      assert.deepEqual(statuses, [
        { name: 'default', networkName: 'default/net1', podInterfaceName: 'pod16f1', mac: macs[i] },
      ]);
      assert.deepEqual(
        await runtime().setupPod(podRequest(i)),
        statuses,
        'setupPod is idempotent for the same pod',
      );
      started.push(Date.now());
      await runtime().startGuest(guestSpec(i));
    }
    for (const i of [0, 1]) {
      const observation = await waitFor(`guest ${i}'s agent and address`, 90_000, async () => {
        const o = await runtime().observe(`vmi-${i}`);
        return hasIpv4(o) ? o : undefined;
      });
      t.diagnostic(
        `guest ${i}: boot to agent with an address in ${Date.now() - started[i]!} ms (2 guests booting on a shared host)`,
      );
      assert.equal(observation.state, 'Running');
      assert.deepEqual(observation.nics, [
        { name: 'default', deviceMac: macs[i], guestMac: macs[i] },
      ]);
      assert.equal(observation.agent?.interfaces[0]?.mac, macs[i]);
    }
    const [ip0, ip1] = [await leaseOf(macs[0]!), await leaseOf(macs[1]!)];
    assert.notEqual(ip0, ip1);
    const agent0 = (await runtime().observe('vmi-0'))?.agent?.interfaces[0]?.ipAddresses ?? [];
    assert.ok(agent0.includes(ip0), `guest 0 reports ${agent0.join(', ')}, its lease is ${ip0}`);
    assert.equal(await ping('vmi-0', network.gateway), 0, 'guest 0 → gateway');
    assert.equal(await ping('vmi-0', ip1), 0, 'guest 0 → guest 1');
    assert.equal(await ping('vmi-1', ip0), 0, 'guest 1 → guest 0');
    const exec = await runtime().exec('vmi-1', [
      'sh',
      '-c',
      'cat /sys/class/net/eth0/address; echo warn >&2; exit 4',
    ]);
    assert.deepEqual(exec, { exitCode: 4, stdout: `${macs[1]}\n`, stderr: 'warn\n' });
  });

  it('an in-guest MAC change shows in observe within 1 s (event) and the spoof check cuts the guest off', async (t) => {
    const ip1 = await leaseOf(macs[1]!);
    const dropsBefore = await runtime().spoofDrops();
    const since = Date.now();
    const result = await runtime().exec('vmi-0', [
      'ip',
      'link',
      'set',
      'eth0',
      'address',
      macs[1]!,
    ]);
    assert.equal(result.exitCode, 0, result.stderr);
    const event = await waitFor('guest-changed for vmi-0', 5_000, async () =>
      events.find((e) => e.type === 'guest-changed' && e.vmiUid === 'vmi-0' && e.at >= since),
    );
    t.diagnostic(
      `in-guest MAC change → guest-changed event: ${event.at - since} ms after guest-exec was sent`,
    );
    assert.ok(event.at - since < 1_000, `event after ${event.at - since} ms`);
    const observation = await runtime().observe('vmi-0');
    assert.deepEqual(observation?.nics, [
      { name: 'default', deviceMac: macs[0], guestMac: macs[1] },
    ]);
    assert.notEqual(
      await ping('vmi-0', network.gateway),
      0,
      'gateway still reachable after the MAC change',
    );
    assert.notEqual(await ping('vmi-0', ip1), 0, 'guest 1 still reachable after the MAC change');
    assert.ok((await runtime().spoofDrops()) > dropsBefore, 'the spoof check dropped nothing');
  });

  it('a restart gives the guest its device MAC back and restores connectivity', async (t) => {
    const ip0 = await leaseOf(macs[0]!);
    const ip1 = await leaseOf(macs[1]!);
    const stopAt = Date.now();
    await runtime().stopGuest('vmi-0', { graceMs: 20_000 });
    const stopped = await runtime().observe('vmi-0');
    assert.equal(stopped?.state, 'Stopped');
    assert.equal(stopped?.agent, undefined);
    assert.ok(
      events.some((e) => e.type === 'guest-stopped' && e.vmiUid === 'vmi-0' && e.at >= stopAt),
    );
    await runtime().stopGuest('vmi-0'); // idempotent
    const startAt = Date.now();
    await runtime().startGuest(guestSpec(0));
    const observation = await waitFor('guest 0 back with an address', 90_000, async () => {
      const o = await runtime().observe('vmi-0');
      return hasIpv4(o) ? o : undefined;
    });
    t.diagnostic(
      `stop took ${startAt - stopAt} ms; restart to agent with an address ${Date.now() - startAt} ms`,
    );
    assert.deepEqual(observation.nics, [
      { name: 'default', deviceMac: macs[0], guestMac: macs[0] },
    ]);
    assert.equal(observation.agent?.interfaces[0]?.mac, macs[0]);
    assert.ok(
      observation.agent?.interfaces[0]?.ipAddresses.includes(ip0),
      'the same MAC gets the same lease back',
    );
    assert.equal(await ping('vmi-0', network.gateway), 0);
    assert.equal(await ping('vmi-0', ip1), 0);
  });

  it('close() leaves the guests running, and a new runtime on the same state re-attaches to them', async () => {
    const image = runtime().image;
    assert.equal(runtime().hasGuest('vmi-0'), true);
    assert.equal(runtime().hasGuest('vmi-9'), false);
    const pids = [runtime().guestPid('vmi-0'), runtime().guestPid('vmi-1')];
    assert.ok(pids.every((pid) => pid !== undefined));
    await runtime().close();
    await assert.rejects(runtime().observe('vmi-0'), /closed/);
    for (const pid of pids) process.kill(pid!, 0); // throws ESRCH when the guest is gone
    rt = await createQemuRuntime({ instanceId, stateDir, image });
    rt.subscribe((event) => events.push({ ...event, at: Date.now() }));
    for (const [i, pid] of pids.entries()) {
      assert.equal(runtime().guestPid(`vmi-${i}`), pid);
      const observation = await waitFor(
        `guest ${i}'s agent after re-attaching`,
        30_000,
        async () => {
          const o = await runtime().observe(`vmi-${i}`);
          return o?.agent ? o : undefined;
        },
      );
      assert.equal(observation.state, 'Running');
      assert.deepEqual(observation.nics, [
        { name: 'default', deviceMac: macs[i], guestMac: macs[i] },
      ]);
    }
    assert.equal(
      (await runtime().exec('vmi-1', ['cat', '/sys/class/net/eth0/address'])).stdout,
      `${macs[1]}\n`,
    );
    assert.deepEqual((await runtime().inventory()).guests, ['vmi-0', 'vmi-1']);
  });

  it('an in-guest reboot keeps QEMU running and brings the device MAC back', async () => {
    const changed = await runtime().exec('vmi-1', [
      'ip',
      'link',
      'set',
      'eth0',
      'address',
      '02:e2:e0:00:00:77',
    ]);
    assert.equal(changed.exitCode, 0, changed.stderr);
    assert.equal((await runtime().observe('vmi-1'))?.nics[0]?.guestMac, '02:e2:e0:00:00:77');
    const pid = runtime().guestPid('vmi-1');
    // The agent dies with the guest, so this guest-exec never reports an exit status.
    await runtime()
      .exec('vmi-1', ['reboot'], { timeoutMs: 2_000 })
      .catch(() => undefined);
    const back = await waitFor('guest 1 back after reboot with an address', 90_000, async () => {
      const o = await runtime().observe('vmi-1');
      return hasIpv4(o) && o?.nics[0]?.guestMac === macs[1] ? o : undefined;
    });
    assert.equal(back.state, 'Running');
    assert.equal(runtime().guestPid('vmi-1'), pid, 'a reboot is not a new QEMU');
    assert.equal(back.agent?.interfaces[0]?.mac, macs[1]);
    assert.equal(await ping('vmi-1', network.gateway), 0);
  });

  it('an in-guest poweroff is guest-stopped; a QEMU that dies is guest-failed', async () => {
    const since = Date.now();
    await runtime()
      .exec('vmi-1', ['poweroff'], { timeoutMs: 3_000 })
      .catch(() => undefined);
    const stopped = await waitFor('guest-stopped for vmi-1', 30_000, async () =>
      events.find((e) => e.type === 'guest-stopped' && e.vmiUid === 'vmi-1' && e.at >= since),
    );
    assert.equal(stopped.type === 'guest-stopped' && stopped.reason, 'guest powered off');
    assert.equal((await runtime().observe('vmi-1'))?.state, 'Stopped');

    const pid = runtime().guestPid('vmi-0');
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    const failed = await waitFor('guest-failed for vmi-0', 15_000, async () =>
      events.find((e) => e.type === 'guest-failed' && e.vmiUid === 'vmi-0' && e.at >= since),
    );
    assert.match(failed.type === 'guest-failed' ? failed.reason : '', /QEMU exited unexpectedly/);
    assert.equal((await runtime().observe('vmi-0'))?.state, 'Failed');
    await assert.rejects(runtime().exec('vmi-0', ['true']), /the guest is Failed/);
  });

  it('inventory reads what exists from the host; cleanupOrphans removes what is not kept', async () => {
    const other: NetworkSpec = {
      id: 'n2',
      name: 'default/net2',
      cidr: '198.18.8.0/24',
      gateway: '198.18.8.1',
      dhcpRange: { start: '198.18.8.10', end: '198.18.8.20' },
    };
    await runtime().ensureNetwork(other);
    await runtime().setupPod({
      podUid: 'orphan',
      namespace: 'default',
      podName: 'virt-launcher-gone',
      interfaces: [
        {
          name: 'default',
          network: other,
          podInterfaceName: 'eth0',
          mac: '02:e2:e0:00:00:09',
          binding: 'bridge',
        },
      ],
    });
    await runtime().startGuest(guestSpec(1));
    assert.deepEqual(await runtime().inventory(), {
      networks: ['n1', 'n2'],
      pods: ['orphan', 'pod-0', 'pod-1'],
      guests: ['vmi-1'],
    });

    const removed = await runtime().cleanupOrphans({
      networks: ['n1'],
      pods: ['pod-0', 'pod-1'],
      guests: [],
    });
    assert.deepEqual(removed, { networks: ['n2'], pods: ['orphan'], guests: ['vmi-1'] });
    assert.deepEqual(await runtime().inventory(), {
      networks: ['n1'],
      pods: ['pod-0', 'pod-1'],
      guests: [],
    });
    const { stdout } = await run('ip', [
      'netns',
      'exec',
      runtime().hostNamespace,
      'ip',
      '-br',
      'link',
    ]);
    assert.doesNotMatch(stdout, /hb-n2/);
    assert.deepEqual(await runtime().leases('n2'), []);
  });

  it('a runtime made with teardownOnClose removes its guest, pod namespace, bridge and dnsmasq on close', async () => {
    const throwawayId = `${instanceId}t`;
    const throwawayState = await mkdtemp('/tmp/harrow-e2e-teardown-');
    const throwaway = await createQemuRuntime({
      instanceId: throwawayId,
      stateDir: join(throwawayState, 's'),
      image: runtime().image,
      teardownOnClose: true,
    });
    try {
      const net = { ...network, id: 'nt' };
      const mac = '02:e2:e0:00:00:0e';
      await throwaway.ensureNetwork(net);
      await throwaway.setupPod({
        podUid: 'pt',
        namespace: 'default',
        podName: 'p',
        interfaces: [
          { name: 'default', network: net, podInterfaceName: 'eth0', mac, binding: 'bridge' },
        ],
      });
      await throwaway.startGuest({
        vmiUid: 'vt',
        podUid: 'pt',
        namespace: 'default',
        name: 'vt',
        cpus: 1,
        memoryMiB: 96,
        nics: [{ name: 'default', mac, podInterfaceName: 'eth0', networkId: 'nt' }],
      });
      assert.notEqual((await leftovers(throwawayId, throwawayState)).length, 0);
      await throwaway.close();
      assert.deepEqual(await leftovers(throwawayId, throwawayState), []);
    } finally {
      await throwaway.destroyAll();
      await rm(throwawayState, { recursive: true, force: true });
    }
  });

  it('destroyAll removes everything even when the test that created it fails', async () => {
    const failingId = `${instanceId}f`;
    const failingState = await mkdtemp('/tmp/harrow-e2e-fail-');
    const fixture = join(failingState, 'fails-on-purpose.test.mts');
    await writeFile(
      fixture,
      `import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { createQemuRuntime } from ${JSON.stringify(join(repo, 'src/runtime/qemu/index.ts'))};
const rt = await createQemuRuntime({ instanceId: ${JSON.stringify(failingId)}, stateDir: ${JSON.stringify(join(failingState, 's'))}, image: ${JSON.stringify(runtime().image)} });
after(() => rt.destroyAll());
it('fails on purpose with a network, a pod and a running guest', async () => {
  const network = ${JSON.stringify({ ...network, id: 'nf' })};
  await rt.ensureNetwork(network);
  await rt.setupPod({ podUid: 'pf', namespace: 'default', podName: 'p', interfaces: [{ name: 'default', network, podInterfaceName: 'eth0', mac: '02:e2:e0:00:00:0f', binding: 'bridge' }] });
  await rt.startGuest({ vmiUid: 'vf', podUid: 'pf', namespace: 'default', name: 'vf', cpus: 1, memoryMiB: 96, nics: [{ name: 'default', mac: '02:e2:e0:00:00:0f', podInterfaceName: 'eth0', networkId: 'nf' }] });
  assert.deepEqual(await rt.inventory(), { networks: ['nf'], pods: ['pf'], guests: ['vf'] });
  console.log('CREATED-EVERYTHING');
  assert.fail('failing on purpose');
});
`,
    );
    try {
      const child = await run(
        process.execPath,
        ['--import', 'tsx', '--test', '--test-reporter=tap', fixture],
        repo,
      );
      assert.notEqual(child.code, 0, 'the fixture was meant to fail');
      assert.match(child.stdout, /CREATED-EVERYTHING/, child.stdout + child.stderr);
      assert.match(child.stdout, /failing on purpose/);
      assert.deepEqual(await leftovers(failingId, failingState), []);
    } finally {
      // Safety net only (the assertion above already judged): never leave a failed fixture's guest running.
      const sweeper = await createQemuRuntime({
        instanceId: failingId,
        stateDir: join(failingState, 's'),
        image: runtime().image,
      });
      await sweeper.destroyAll();
      await rm(failingState, { recursive: true, force: true });
    }
  });
});
