// `harrow down` on real guests: after it, no process, namespace, link or nftables table of the instance is left — with
// its server running, and after the server was SIGKILLed (its guests outlive it by design) — and another instance on
// the same host keeps everything it had.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { qemuInstanceId } from '../../src/runtime/choice.ts';
import { createQemuRuntime } from '../../src/runtime/qemu/index.ts';
import { underlayPeerName } from '../../src/runtime/qemu/vxlan.ts';
import { bridgeNetwork, NS, runningVmi, virtualMachine } from './fixtures.ts';
import { runCli, startServer, waitFor, type HarrowServer } from './harness.ts';
import { NOTHING, footprint, sh } from './host-footprint.ts';
import { runtimesUnderTest } from './runtimes.ts';

const qemu = runtimesUnderTest().find((r) => r.name === 'qemu')!;
const BOOT_MS = 300_000;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function vmsRunning(server: HarrowServer, names: string[], notUids: string[] = []) {
  return Promise.all(
    names.map((name) =>
      waitFor(
        async () => {
          const vmi = await runningVmi(server.client, name);
          return vmi && !notUids.includes(vmi.metadata.uid!) ? vmi : undefined;
        },
        { timeoutMs: BOOT_MS, message: `${name} running with an address` },
      ),
    ),
  );
}

async function down(dataDir: string): Promise<{ stdout: string; seconds: number }> {
  const started = performance.now();
  const r = await runCli(['down', '--data-dir', dataDir], { timeoutMs: 240_000 });
  const seconds = (performance.now() - started) / 1000;
  assert.equal(r.code, 0, `harrow down failed:\n${r.stdout}\n${r.stderr}`);
  return { stdout: r.stdout, seconds };
}

describe('harrow down on the qemu runtime', { skip: qemu.skip ?? false }, () => {
  let a: HarrowServer;
  let b: HarrowServer;
  const vmsA = ['down-a1', 'down-a2'];
  let firstUids: string[] = [];

  before(async () => {
    // A: as in production, its guests outlive the server. B: a neighbour that must be left alone.
    [a, b] = await Promise.all([
      startServer({ runtime: 'qemu', teardownOnExit: false }),
      startServer({ runtime: 'qemu' }),
    ]);
    await a.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      bridgeNetwork('lan', 81),
    );
    await b.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      bridgeNetwork('lan', 82),
    );
    for (const name of vmsA)
      await a.client.create('VirtualMachine', { namespace: NS }, virtualMachine(name));
    await b.client.create('VirtualMachine', { namespace: NS }, virtualMachine('down-b1'));
    firstUids = (await vmsRunning(a, vmsA)).map((v) => v.metadata.uid!);
    await vmsRunning(b, ['down-b1']);
  });

  after(async () => {
    // Whatever happened above, nothing of A stays (the harness's stop() does not know the guests outlive it).
    await runCli(['down', '--data-dir', a.dataDir], { timeoutMs: 240_000 }).catch(() => undefined);
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('with its server running: stops the server, then no process, namespace, link or nft table is left', async (t) => {
    const before = footprint(a.dataDir);
    const neighbour = footprint(b.dataDir);
    // The check below can fail: A holds guests, dnsmasq, namespaces, a bridge and the spoof-check table.
    assert.equal(before.namespaces.length, 3, JSON.stringify(before));
    assert.ok(before.processes.filter((p) => p.endsWith('qemu-system-x86_64')).length === 2);
    assert.ok(
      before.processes.some((p) => p.endsWith('dnsmasq')),
      JSON.stringify(before),
    );
    assert.ok(
      before.links.some((l) => l.includes('/hb-')),
      JSON.stringify(before),
    );
    assert.ok(before.nftTables.includes('bridge harrow_macspoofchk'), JSON.stringify(before));
    assert.notDeepEqual(neighbour, NOTHING);

    const { stdout, seconds } = await down(a.dataDir);
    t.diagnostic(
      `harrow down with ${vmsA.length} guests and a running server: ${seconds.toFixed(2)} s`,
    );
    assert.match(stdout, new RegExp(`stopped harrow serve \\(pid ${a.pid}\\)`));
    for (const name of vmsA) assert.match(stdout, new RegExp(`stopped guest ${NS}/${name} `));
    assert.match(stdout, /stopped dnsmasq \(pid \d+, bridge hb-/);
    assert.match(stdout, /removed host namespace harrow-h[0-9a-f]{8} with bridge hb-/);
    assert.match(stdout, /nftables bridge harrow_macspoofchk/);
    assert.equal(alive(a.pid), false, 'the server stopped');
    // It stopped cleanly (SIGTERM), and said how to remove the guests it left, as scripts/up shows it.
    assert.match(a.logs(), /SIGTERM: shutting down/);
    assert.match(a.logs(), new RegExp(`harrow down --data-dir ${a.dataDir}\\n`));
    assert.deepEqual(footprint(a.dataDir), NOTHING);
    assert.deepEqual(footprint(b.dataDir), neighbour, 'the neighbour instance is untouched');

    const again = await down(a.dataDir);
    assert.match(again.stdout, /nothing to remove/);
    assert.deepEqual(footprint(b.dataDir), neighbour);
  });

  it('after its server was SIGKILLed: the guests outlived it, and down removes them all', async (t) => {
    // The next serve on the data dir after down starts the VMs again (new VMIs: the old guests are gone).
    await a.restart();
    await vmsRunning(a, vmsA, firstUids);
    const neighbour = footprint(b.dataDir);
    await a.kill('SIGKILL');
    const orphaned = footprint(a.dataDir);
    assert.equal(
      orphaned.processes.filter((p) => p.endsWith('qemu-system-x86_64')).length,
      2,
      `the guests outlive a SIGKILLed server: ${JSON.stringify(orphaned)}`,
    );

    const { stdout, seconds } = await down(a.dataDir);
    t.diagnostic(`harrow down with ${vmsA.length} guests after SIGKILL: ${seconds.toFixed(2)} s`);
    assert.doesNotMatch(stdout, /stopped harrow serve/);
    for (const name of vmsA) assert.match(stdout, new RegExp(`stopped guest ${NS}/${name} `));
    assert.deepEqual(footprint(a.dataDir), NOTHING);
    assert.deepEqual(footprint(b.dataDir), neighbour, 'the neighbour instance is untouched');

    // --list shows the neighbour with its guest, and nothing of A.
    const listed = await runCli(['down', '--list', '-o', 'json']);
    assert.equal(listed.code, 0, listed.stderr);
    const instances = JSON.parse(listed.stdout) as Array<{
      instanceId: string;
      dataDir?: string;
      guests: Array<{ vmi?: string }>;
    }>;
    assert.equal(
      instances.find((i) => i.instanceId === qemuInstanceId(a.dataDir)),
      undefined,
    );
    const mine = instances.find((i) => i.instanceId === qemuInstanceId(b.dataDir));
    assert.equal(mine?.dataDir, b.dataDir);
    assert.deepEqual(
      mine?.guests.map((g) => g.vmi),
      [`${NS}/down-b1`],
    );
  });

  it('an instance on an underlay (several hosts): its VXLAN link, filter table and root-namespace veth go too, by --instance-id', async () => {
    const instanceId = `dvx${process.pid}`;
    const bridge = `hdu${process.pid}`.slice(0, 15);
    const stateDir = await mkdtemp('/tmp/harrow-e2e-down-vx-');
    sh('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
    try {
      const rt = await createQemuRuntime({
        instanceId,
        stateDir: join(stateDir, 'qemu'),
        underlay: { address: '198.19.254.31/24', bridge },
      });
      await rt.ensureNetwork({
        id: 'vx',
        name: 'default/vx',
        cidr: '198.18.83.0/24',
        gateway: '198.18.83.1',
        dhcpRange: { start: '198.18.83.10', end: '198.18.83.99' },
      });
      await rt.close();
      const neighbour = footprint(b.dataDir);
      const before = footprint(stateDir, instanceId);
      assert.ok(
        before.links.includes(`root/${underlayPeerName(instanceId)}`),
        JSON.stringify(before),
      );
      assert.ok(
        before.links.some((l) => /\/vx[0-9a-f]{12}$/.test(l)),
        JSON.stringify(before),
      );
      assert.ok(before.nftTables.includes('bridge harrow_vxlan'), JSON.stringify(before));

      const r = await runCli(['down', '--instance-id', instanceId], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(
        r.stdout,
        new RegExp(`removed link ${underlayPeerName(instanceId)} \\(root namespace\\)`),
      );
      assert.match(r.stdout, /vxlan vx[0-9a-f]{12}/);
      assert.deepEqual(footprint(stateDir, instanceId), NOTHING);
      assert.deepEqual(footprint(b.dataDir), neighbour, 'the neighbour instance is untouched');
    } finally {
      await runCli(['down', '--instance-id', instanceId]).catch(() => undefined);
      sh('ip', ['link', 'delete', 'dev', bridge]);
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
