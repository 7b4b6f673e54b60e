// MacPools through the API: KubeMacPool's range rules at the door (causes name the field, nothing changes), a status the
// controller keeps current (in total and per range) shown by `harrow get macpool`, KubeMacPool's namespace label as an
// alias of Harrow's opt-out, and failures a user could not see before (no MAC, no network) as conditions and events.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ApiError } from '../../src/client/client.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import type {
  KubeEvent,
  MacAllocation,
  MacPool,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../src/resources/types.ts';
import { NS, bridgeNetwork, conditionOf, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

const pool = (name: string, ranges: Array<{ start: string; end: string }>): KubeObject =>
  ({
    apiVersion: 'harrow.io/v1',
    kind: 'MacPool',
    metadata: { name },
    spec: { ranges },
  }) as KubeObject;

async function refused(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  assert.fail('expected the API to refuse');
}

describe(
  'MacPools: range admission, a status kept current, namespace opt-out, visible failures',
  { concurrency: false },
  () => {
    let server: HarrowServer;
    before(async () => {
      server = await startServer({ runtime: 'sim', args: ['--quarantine-seconds', '3600'] });
      await server.client.create(
        'NetworkAttachmentDefinition',
        { namespace: NS },
        bridgeNetwork('lan', 42),
      );
    });
    after(async () => {
      await server?.stop();
    });

    test('a MacPool range must be unicast, non-empty, usable and overlap no other range; the Status names the field and nothing changes', async () => {
      await server.client.create(
        'MacPool',
        {},
        pool('lab', [{ start: '0e:00:00:00:00:00', end: '0e:00:00:00:00:ff' }]),
      );
      const before = JSON.stringify(
        (await server.client.listAll<MacPool>('MacPool')).map((p) => [p.metadata.name, p.spec]),
      );
      const cases: Array<{
        what: string;
        ranges: Array<{ start: string; end: string }>;
        field: string;
        pattern: RegExp;
      }> = [
        {
          what: 'multicast start',
          ranges: [{ start: '03:00:00:00:00:00', end: '06:00:00:00:00:00' }],
          field: 'spec.ranges[0].start',
          pattern: /multicast/,
        },
        {
          what: 'multicast end',
          ranges: [
            { start: '12:00:00:00:00:00', end: '12:00:00:00:00:01' },
            { start: '16:00:00:00:00:00', end: '17:ff:ff:ff:ff:ff' },
          ],
          field: 'spec.ranges[1].end',
          pattern: /multicast/,
        },
        {
          what: 'broadcast end',
          ranges: [{ start: '1a:00:00:00:00:00', end: 'ff:ff:ff:ff:ff:ff' }],
          field: 'spec.ranges[0].end',
          pattern: /multicast/,
        },
        {
          what: 'empty (end before start)',
          ranges: [{ start: '1a:00:00:00:00:10', end: '1a:00:00:00:00:01' }],
          field: 'spec.ranges[0].end',
          pattern: /before start/,
        },
        {
          what: 'all-zero start',
          ranges: [{ start: '00:00:00:00:00:00', end: '00:00:00:00:00:10' }],
          field: 'spec.ranges[0].start',
          pattern: /all-zero/,
        },
        {
          what: "KubeVirt's reserved masquerade address only",
          ranges: [{ start: '02:00:00:00:00:00', end: '02:00:00:00:00:00' }],
          field: 'spec.ranges[0]',
          pattern: /no address the pool may hand out.*02:00:00:00:00:00/,
        },
        {
          what: 'malformed',
          ranges: [{ start: '1a:00:00:00:00', end: '1a:00:00:00:00:10' }],
          field: 'spec.ranges[0].start',
          pattern: /invalid MAC/,
        },
        {
          what: 'overlap within the pool',
          ranges: [
            { start: '1c:00:00:00:00:00', end: '1c:00:00:00:00:ff' },
            { start: '1c:00:00:00:00:80', end: '1c:00:00:00:01:00' },
          ],
          field: 'spec.ranges[1]',
          pattern: /overlaps spec\.ranges\[0\]/,
        },
        {
          what: "overlap with another pool's range",
          ranges: [{ start: '0e:00:00:00:00:80', end: '0e:00:00:00:01:00' }],
          field: 'spec.ranges[0]',
          pattern: /overlaps MacPool lab/,
        },
      ];
      for (const c of cases) {
        const e = await refused(server.client.create('MacPool', {}, pool('bad', c.ranges)));
        assert.equal(e.code, 422, c.what);
        assert.equal(e.reason, 'Invalid', c.what);
        const cause = e.status.details?.causes?.find((x) => x.field === c.field);
        assert.ok(
          cause,
          `${c.what}: a cause names ${c.field}: ${JSON.stringify(e.status.details?.causes)}`,
        );
        assert.match(cause.message ?? '', c.pattern, c.what);
      }
      // An update is held to the same rules.
      const lab = await server.client.get<MacPool>('MacPool', { name: 'lab' });
      lab.spec.ranges = [{ start: '0f:00:00:00:00:00', end: '0f:00:00:00:00:ff' }];
      const e = await refused(server.client.replace('MacPool', { name: 'lab' }, lab));
      assert.equal(e.status.details?.causes?.[0]?.field, 'spec.ranges[0].start');
      const after = JSON.stringify(
        (await server.client.listAll<MacPool>('MacPool')).map((p) => [p.metadata.name, p.spec]),
      );
      assert.equal(after, before, 'refused writes changed nothing');
    });

    test('the MacPool status counts capacity, allocated and quarantined per range, and MACs held outside every range; harrow get macpool shows them', async () => {
      await server.client.create(
        'MacPool',
        {},
        pool('pair', [
          { start: '0a:10:00:00:00:00', end: '0a:10:00:00:00:0f' },
          // Covers KubeVirt's reserved address: the pool skips it, and so does its capacity.
          { start: '02:00:00:00:00:00', end: '02:00:00:00:00:03' },
        ]),
      );
      // The user's pick first: the pool scatters its own picks over both ranges and could otherwise take it.
      await server.client.create(
        'VirtualMachine',
        { namespace: NS },
        virtualMachine('p-user', { runStrategy: 'Halted', mac: '02:00:00:00:00:02' }),
      );
      const inPair = { 'harrow.io/mac-pool': 'pair' };
      for (const name of ['p-1', 'p-2', 'p-3'])
        await server.client.create(
          'VirtualMachine',
          { namespace: NS },
          virtualMachine(name, { runStrategy: 'Halted', annotations: inPair }),
        );
      await server.client.create(
        'VirtualMachine',
        { namespace: NS },
        virtualMachine('p-outside', { runStrategy: 'Halted', mac: '06:aa:00:00:00:01' }),
      );
      // The pool scatters its picks over both ranges: what each range should count comes from the allocations.
      const allocs = await server.client.listAll<MacAllocation>('MacAllocation');
      const inRange = (a: MacAllocation, r: number): boolean =>
        r === 0
          ? /^0a:10:00:00:00:0[0-9a-f]$/.test(a.spec.macAddress)
          : /^02:00:00:00:00:0[0-3]$/.test(a.spec.macAddress);
      const perRange = [0, 1].map((r) => allocs.filter((a) => inRange(a, r)).length);
      assert.equal(
        perRange[0]! + perRange[1]!,
        4,
        'three from the pool, one user-chosen inside it',
      );
      const expect = {
        capacity: 16 + 3,
        allocated: 4,
        quarantined: 0,
        ranges: [
          {
            start: '0a:10:00:00:00:00',
            end: '0a:10:00:00:00:0f',
            capacity: 16,
            allocated: perRange[0],
            quarantined: 0,
          },
          {
            start: '02:00:00:00:00:00',
            end: '02:00:00:00:00:03',
            capacity: 3,
            allocated: perRange[1],
            quarantined: 0,
          },
        ],
      };
      const current = (p: MacPool): boolean =>
        p.status?.capacity === expect.capacity &&
        p.status.allocated === expect.allocated &&
        p.status.quarantined === expect.quarantined &&
        p.status.outsideRanges === 1 &&
        JSON.stringify(p.status.ranges) === JSON.stringify(expect.ranges);
      const status = await waitFor(
        async () => {
          const p = await server.client.get<MacPool>('MacPool', { name: 'pair' });
          if (!current(p)) throw new Error(JSON.stringify(p.status));
          return p;
        },
        { message: 'pair status: 3 allocated in range 0, 1 in range 1, 1 outside every range' },
      );
      assert.equal(status.status?.observedGeneration, status.metadata.generation);

      const p1 = allocs.find((a) => a.spec.owner.name === 'p-1')!;
      const released = inRange(p1, 0) ? 0 : 1;
      await server.client.delete('VirtualMachine', { namespace: NS, name: 'p-1' });
      await waitFor(
        async () => {
          const p = await server.client.get<MacPool>('MacPool', { name: 'pair' });
          return (
            p.status?.allocated === 3 &&
            p.status.quarantined === 1 &&
            p.status.ranges[released]?.quarantined === 1
          );
        },
        { message: 'a released MAC moves from allocated to quarantined' },
      );
      const get = await server.cli(['get', 'macpool', 'pair']);
      assert.equal(get.code, 0, get.stderr);
      assert.match(get.stdout, /NAME\s+RANGES\s+CAPACITY\s+ALLOCATED\s+QUARANTINED/);
      assert.match(
        get.stdout,
        /pair\s+0a:10:00:00:00:00-0a:10:00:00:00:0f,02:00:00:00:00:00-02:00:00:00:00:03\s+19\s+3\s+1\s/,
      );
      // The server's Table (what kubectl prints) has the same figures.
      const res = await fetch(`${server.url}/apis/harrow.io/v1/macpools/pair`, {
        headers: {
          authorization: `Bearer ${server.token}`,
          accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
        },
      });
      const table = (await res.json()) as {
        columnDefinitions: Array<{ name: string }>;
        rows: Array<{ cells: unknown[] }>;
      };
      const names = table.columnDefinitions.map((c) => c.name);
      const cell = (n: string): unknown => table.rows[0]?.cells[names.indexOf(n)];
      assert.deepEqual([cell('Capacity'), cell('Allocated'), cell('Quarantined')], [19, 3, 1]);
      assert.equal(
        cell('Ranges'),
        '0a:10:00:00:00:00-0a:10:00:00:00:0f,02:00:00:00:00:00-02:00:00:00:00:03',
      );
    });

    test("KubeMacPool's namespace label mutatevirtualmachines.kubemacpool.io=ignore opts a namespace out of pool admission, as harrow.io/mac-pool-admission=false does", async () => {
      let third = 45;
      for (const [name, meta] of [
        ['kmp-ignore', { labels: { 'mutatevirtualmachines.kubemacpool.io': 'ignore' } }],
        ['kmp-allocate', { labels: { 'mutatevirtualmachines.kubemacpool.io': 'allocate' } }],
        ['harrow-off', { annotations: { 'harrow.io/mac-pool-admission': 'false' } }],
        // Harrow's own annotation wins over the label.
        [
          'harrow-on',
          {
            annotations: { 'harrow.io/mac-pool-admission': 'true' },
            labels: { 'mutatevirtualmachines.kubemacpool.io': 'ignore' },
          },
        ],
      ] as const) {
        await server.client.create('Namespace', {}, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, ...meta },
        } as KubeObject);
        await server.client.create(
          'NetworkAttachmentDefinition',
          { namespace: name },
          { ...bridgeNetwork('lan', third++), metadata: { name: 'lan', namespace: name } },
        );
        const vm = virtualMachine('vm', { runStrategy: 'Halted' });
        vm.metadata.namespace = name;
        const created = await server.client.create<VirtualMachine>(
          'VirtualMachine',
          { namespace: name },
          vm,
        );
        const mac = created.spec.template.spec.domain.devices.interfaces?.[0]?.macAddress;
        const expectFilled = name === 'kmp-allocate' || name === 'harrow-on';
        assert.equal(mac !== undefined, expectFilled, `${name}: MAC filled at admission: ${mac}`);
      }
      // Opted out still means a MAC from the pool: the network plugin assigns it when the launcher pod is created.
      await server.client.mergePatch(
        'VirtualMachine',
        { namespace: 'kmp-ignore', name: 'vm' },
        { spec: { runStrategy: 'Always' } },
      );
      const assigned = await waitFor(
        async () =>
          (
            await server.client.get<VirtualMachine>('VirtualMachine', {
              namespace: 'kmp-ignore',
              name: 'vm',
            })
          ).spec.template.spec.domain.devices.interfaces?.[0]?.macAddress,
        { message: 'the opted-out VM gets its MAC at pod creation' },
      );
      assert.match(assigned, /^02:48:52:/);
    });

    test('a VMI that cannot get a MAC, or whose pod cannot get its network, shows why: a condition on the VMI and VM and a Warning Event, in harrow describe', async () => {
      // An opted-out namespace whose pool has one address: the second VM's pod can get no MAC.
      await server.client.create(
        'MacPool',
        {},
        pool('one', [{ start: '0a:20:00:00:00:01', end: '0a:20:00:00:00:01' }]),
      );
      const ns = 'no-macs';
      await server.client.create('Namespace', {}, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns, labels: { 'mutatevirtualmachines.kubemacpool.io': 'ignore' } },
      } as KubeObject);
      await server.client.create(
        'NetworkAttachmentDefinition',
        { namespace: ns },
        { ...bridgeNetwork('lan', 44), metadata: { name: 'lan', namespace: ns } },
      );
      for (const name of ['first', 'second']) {
        const vm = virtualMachine(name, { annotations: { 'harrow.io/mac-pool': 'one' } });
        vm.metadata.namespace = ns;
        await server.client.create('VirtualMachine', { namespace: ns }, vm);
        // One after the other, so "second" is the one left without a MAC.
        if (name === 'first')
          await waitFor(
            async () =>
              (
                await server.client.get<VirtualMachineInstance>('VirtualMachineInstance', {
                  namespace: ns,
                  name,
                })
              ).status?.phase === 'Running',
            { message: 'first runs' },
          );
      }
      const vmi = await waitFor(
        async () => {
          const v = await server.client.get<VirtualMachineInstance>('VirtualMachineInstance', {
            namespace: ns,
            name: 'second',
          });
          const c = conditionOf(v, 'Synchronized');
          return c?.status === 'False' && c.reason === 'FailedMacAssignment' ? v : false;
        },
        { message: 'the VMI says it could get no MAC' },
      );
      assert.match(conditionOf(vmi, 'Synchronized')?.message ?? '', /no MAC could be assigned/);
      await waitFor(
        async () =>
          conditionOf(
            await server.client.get<VirtualMachine>('VirtualMachine', {
              namespace: ns,
              name: 'second',
            }),
            'Failure',
          )?.reason === 'FailedMacAssignment',
        { message: 'the VM mirrors it as its Failure condition' },
      );
      const warning = await waitFor(
        async () =>
          (
            await server.client.listAll<KubeEvent>('Event', {
              namespace: ns,
              fieldSelector: 'involvedObject.name=second',
            })
          ).find(
            (e) =>
              e.type === 'Warning' &&
              e.reason === 'FailedMacAssignment' &&
              e.involvedObject.kind === 'VirtualMachineInstance',
          ),
        { message: 'a Warning Event on the VMI' },
      );
      assert.match(warning.message, /exhausted|no free MAC/);
      const describe = await server.cli(['describe', 'vm', 'second', '-n', ns]);
      assert.equal(describe.code, 0, describe.stderr);
      assert.match(describe.stdout, /Synchronized\s+False\s+FailedMacAssignment/);
      assert.match(
        describe.stdout,
        /Warning\s+FailedMacAssignment\s+virtualmachineinstance\/second/,
      );

      // A bare VMI on a network whose NAD does not exist: its pod cannot start, and the VMI says so.
      await server.client.create('VirtualMachineInstance', { namespace: NS }, {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        metadata: { name: 'no-net' },
        spec: {
          domain: {
            devices: { interfaces: [{ name: 'n', bridge: {} }] },
            resources: { requests: { memory: '128Mi' } },
          },
          networks: [{ name: 'n', multus: { networkName: 'missing' } }],
        },
      } as KubeObject);
      await waitFor(
        async () =>
          conditionOf(
            await server.client.get<VirtualMachineInstance>('VirtualMachineInstance', {
              namespace: NS,
              name: 'no-net',
            }),
            'Synchronized',
          )?.reason === 'NoNetworkFound',
        { message: 'the bare VMI says its network is missing' },
      );
      const bare = await waitFor(
        async () => {
          const r = await server.cli(['describe', 'vmi', 'no-net']);
          return r.code === 0 &&
            /Warning\s+NoNetworkFound\s+virtualmachineinstance\/no-net/.test(r.stdout)
            ? r
            : false;
        },
        { message: 'harrow describe vmi shows the bare VMI with its Warning' },
      );
      assert.match(bare.stdout, /Synchronized\s+False\s+NoNetworkFound/);
    });
  },
);
