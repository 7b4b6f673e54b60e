// VirtualMachineClone through a real `harrow serve` (sim): clones of a stopped and a running VM get their own MACs, a
// given MAC another VM holds is refused naming it, 20 clones at once get 20 distinct MACs and all start; `harrow clone`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiError } from '../../src/client/client.ts';
import type { AuditRecord, MacAllocation, VirtualMachine } from '../../src/resources/types.ts';
import { macAllocationName } from '../../src/resources/types.ts';
import type { VirtualMachineClone } from '../../src/resources/virtualmachineclone.ts';
import {
  NS,
  bridgeNetwork,
  getVm,
  guestMac,
  networkStatus,
  launcherPod,
  reaches,
  runningVmi,
  specMacs,
  virtualMachine,
} from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

const GATEWAY = '198.18.41.1';

const cloneOf = (
  name: string,
  source: string,
  target: string,
  newMacAddresses?: Record<string, string>,
): VirtualMachineClone => ({
  apiVersion: 'clone.kubevirt.io/v1beta1',
  kind: 'VirtualMachineClone',
  metadata: { name, namespace: NS },
  spec: {
    source: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: source },
    target: { apiGroup: 'kubevirt.io', kind: 'VirtualMachine', name: target },
    ...(newMacAddresses ? { newMacAddresses } : {}),
  },
});

describe('VirtualMachineClone on a running server', { concurrency: false }, () => {
  let server: HarrowServer;
  const finished = (name: string, timeoutMs = 30_000): Promise<VirtualMachineClone> =>
    waitFor(
      async () => {
        const c = await server.client.get<VirtualMachineClone>('VirtualMachineClone', {
          namespace: NS,
          name,
        });
        return (c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed') && c;
      },
      { timeoutMs, intervalMs: 50, message: `clone ${name} finished` },
    );

  before(async () => {
    server = await startServer();
    await server.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      bridgeNetwork('lan', 41),
    );
  });
  after(async () => {
    await server?.stop();
  });

  test('discovery serves clone.kubevirt.io/v1beta1, as KubeVirt does', async () => {
    const r = await fetch(`${server.url}/apis/clone.kubevirt.io/v1beta1`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    const list = (await r.json()) as { resources: Array<{ name: string; kind: string }> };
    assert.ok(
      list.resources.some(
        (x) => x.name === 'virtualmachineclones' && x.kind === 'VirtualMachineClone',
      ),
      JSON.stringify(list),
    );
  });

  test('a stopped and a running VM are cloned with distinct pool MACs; the running clone is connected', async () => {
    const stopped = await server.client.create<VirtualMachine>(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('src-stopped', {
        runStrategy: 'Halted',
        annotations: { 'harvesterhci.io/mac-address': '{"default":"02:48:52:11:11:11"}' },
      }),
    );
    const running = await server.client.create<VirtualMachine>(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('src-running'),
    );
    await waitFor(() => runningVmi(server.client, 'src-running'), {
      message: 'src-running running',
    });
    await server.client.create(
      'VirtualMachineClone',
      { namespace: NS },
      cloneOf('c-stopped', 'src-stopped', 'dst-stopped'),
    );
    await server.client.create(
      'VirtualMachineClone',
      { namespace: NS },
      cloneOf('c-running', 'src-running', 'dst-running'),
    );
    for (const name of ['c-stopped', 'c-running'])
      assert.equal((await finished(name)).status?.phase, 'Succeeded');
    const dstStopped = await getVm(server.client, 'dst-stopped');
    const dstRunning = await getVm(server.client, 'dst-running');
    const all = [
      specMacs(stopped)[0],
      specMacs(running)[0],
      specMacs(dstStopped)[0],
      specMacs(dstRunning)[0],
    ];
    assert.equal(new Set(all).size, 4, `four distinct MACs: ${all.join(', ')}`);
    for (const mac of all) assert.match(mac ?? '', /^02:48:52:/);
    assert.equal(
      dstStopped.metadata.annotations?.['harvesterhci.io/mac-address'],
      undefined,
      'no annotation remembering a MAC',
    );
    assert.equal(dstStopped.spec.runStrategy, 'Halted');
    const alloc = await server.client.get<MacAllocation>('MacAllocation', {
      name: macAllocationName(specMacs(dstRunning)[0]!),
    });
    assert.equal(alloc.spec.owner.name, 'dst-running');
    const vmi = await waitFor(() => runningVmi(server.client, 'dst-running'), {
      message: 'dst-running running',
    });
    assert.equal(vmi.status?.interfaces?.[0]?.mac, specMacs(dstRunning)[0]);
    assert.equal(
      networkStatus(await launcherPod(server.client, 'dst-running'))[0]?.mac,
      specMacs(dstRunning)[0],
    );
    assert.equal(await guestMac(server.client, 'dst-running'), specMacs(dstRunning)[0]);
    assert.ok(
      await reaches(server.client, 'dst-running', GATEWAY),
      'the clone reaches its gateway',
    );
    assert.ok(await reaches(server.client, 'src-running', GATEWAY), 'and the source still does');
    const audit = await server.client.listAll<AuditRecord>('AuditRecord', {
      namespace: NS,
      labelSelector: 'harrow.io/verb=clone',
    });
    assert.ok(
      audit.some(
        (r) => r.spec.resource.name === 'c-running' && r.spec.outcome.status === 'Success',
      ),
    );
  });

  test('a given MAC another VM holds is refused with 409 naming the field and the holder; a malformed one with 422', async () => {
    const held = specMacs(await getVm(server.client, 'src-running'))[0]!;
    await assert.rejects(
      server.client.create(
        'VirtualMachineClone',
        { namespace: NS },
        cloneOf('c-held', 'src-stopped', 'dst-held', { default: held }),
      ),
      (e: unknown) => {
        assert.ok(e instanceof ApiError && e.code === 409, String(e));
        const cause = e.status.details?.causes?.[0];
        assert.equal(cause?.field, 'spec.newMacAddresses["default"]');
        assert.match(cause?.message ?? '', /src-running/);
        return true;
      },
    );
    await assert.rejects(
      server.client.create(
        'VirtualMachineClone',
        { namespace: NS },
        cloneOf('c-bad', 'src-stopped', 'dst-bad', { default: '01:00:5e:00:00:01' }),
      ),
      (e: unknown) => {
        assert.ok(e instanceof ApiError && e.code === 422, String(e));
        assert.equal(e.status.details?.causes?.[0]?.field, 'spec.newMacAddresses["default"]');
        return true;
      },
    );
  });

  test('harrow clone prints the new MACs (a given one and a pool one) and waits for the clone to run', async () => {
    await server.client.create(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine('two-nics', {
        runStrategy: 'Always',
        interfaces: [
          { name: 'a', network: 'lan' },
          { name: 'b', network: 'lan' },
        ],
      }),
    );
    const r = await server.cli([
      'clone',
      'two-nics',
      'two-nics-copy',
      '--mac',
      'b=02-AA-00-00-00-42',
      '--wait',
      '--timeout',
      '60s',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const vm = await getVm(server.client, 'two-nics-copy');
    const [a, b] = specMacs(vm);
    assert.equal(b, '02:aa:00:00:00:42');
    assert.match(r.stdout, new RegExp(`a: ${a} \\(from the pool\\)`));
    assert.match(r.stdout, /b: 02:aa:00:00:00:42 \(given\)/);
    assert.match(r.stdout, /two-nics-copy running/);
    const refused = await server.cli(['clone', 'two-nics', 'again', '--mac', `a=${a}`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`${a}.*two-nics-copy`));
  });
  test('20 clones at once get 20 distinct MACs, and all 20 started at once run with their own MAC and lease', async () => {
    // The scheduler gives a node 10 vCPUs per core: on a 2-core host 20 one-vCPU guests fill it, so the VMs of the
    // earlier tests go first. The clones keep the Halted source's runStrategy; starting all 20 at once is the test.
    for (const vm of ['src-running', 'dst-running', 'two-nics', 'two-nics-copy'])
      await server.client.delete('VirtualMachine', { namespace: NS, name: vm });
    await waitFor(
      async () =>
        (await server.client.listAll('VirtualMachineInstance', { namespace: NS })).length === 0,
      { message: 'earlier VMIs gone' },
    );
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        server.client.create(
          'VirtualMachineClone',
          { namespace: NS },
          cloneOf(`c-many-${i}`, 'src-stopped', `many-${i}`),
        ),
      ),
    );
    const done = await Promise.all(
      Array.from({ length: 20 }, (_, i) => finished(`c-many-${i}`, 60_000)),
    );
    assert.deepEqual(
      done.map((c) => c.status?.phase),
      Array(20).fill('Succeeded'),
    );
    const specs = await Promise.all(
      Array.from(
        { length: 20 },
        async (_, i) => specMacs(await getVm(server.client, `many-${i}`))[0],
      ),
    );
    assert.equal(new Set(specs).size, 20, `20 distinct MACs in the manifests: ${specs.join(', ')}`);
    await Promise.all(Array.from({ length: 20 }, (_, i) => server.client.start(NS, `many-${i}`)));
    const vmis = await waitFor(
      async () => {
        const all = await Promise.all(
          Array.from({ length: 20 }, (_, i) => runningVmi(server.client, `many-${i}`)),
        );
        return all.every(Boolean) && all;
      },
      { timeoutMs: 90_000, message: '20 clones running with an IP' },
    );
    const macs = vmis.map((v) => (v ? v.status?.interfaces?.[0]?.mac : undefined));
    assert.deepEqual(macs, specs, 'each runs with its own manifest MAC');
    const ips = vmis.map((v) => (v ? v.status?.interfaces?.[0]?.ipAddress : undefined));
    assert.equal(new Set(ips).size, 20, `20 distinct leases: ${ips.join(', ')}`);
  });
});
