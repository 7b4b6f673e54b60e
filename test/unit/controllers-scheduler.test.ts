// The control plane's scheduler and node lifecycle on a real store: placement by load and capacity, no placement on
// stale nodes, eviction of a silent node's VMIs and their recreation elsewhere with the same MACs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NodeObject } from '../../src/controllers/scheduler.ts';
import { ANNOTATION_SELECTED_NODE } from '../../src/resources/datavolume.ts';
import type { Pod, VirtualMachine, VirtualMachineInstance } from '../../src/resources/types.ts';
import type { SqliteStore } from '../../src/store/sqlite/store.ts';
import {
  readyNode,
  startHarness,
  startNodeCluster,
  vmManifest,
  waitFor,
  waitRunning,
  type NodeCluster,
} from './controllers-harness.ts';

const GRACE_MS = 400;

const node = (name: string, maxVms: number, beatMs: number): NodeObject =>
  readyNode(name, maxVms, { beatMs });

describe('scheduler and node lifecycle', () => {
  let cluster: NodeCluster;
  let store: SqliteStore;
  let beating: Set<string>;

  before(async () => {
    cluster = await startNodeCluster(
      [
        node('small', 1, Date.now()),
        node('big', 10, Date.now()),
        node('stale', 10, Date.now() - 3_600_000),
      ],
      { graceMs: GRACE_MS, silent: ['stale'] },
    );
    ({ store, beating } = cluster);
  });
  after(() => cluster.close());

  const vmis = async (): Promise<VirtualMachineInstance[]> =>
    (await store.list('VirtualMachineInstance')).items as VirtualMachineInstance[];

  it('places VMIs on Ready nodes by load and capacity, never on a stale one, and names the node on the VMI and its pod', async () => {
    for (let i = 1; i <= 4; i++)
      await store.create(vmManifest(`vm-${i}`, { macs: [`02:00:00:00:00:0${i}`] }));
    const placed = await waitFor('four VMIs with a node and a pod', async () => {
      const all = await vmis();
      const pods = (await store.list('Pod')).items as Pod[];
      return all.length === 4 && all.every((v) => v.status?.nodeName) && pods.length === 4
        ? { all, pods }
        : undefined;
    });
    const count = (n: string): number => placed.all.filter((v) => v.status?.nodeName === n).length;
    assert.equal(count('small'), 1, 'small holds at most one VM');
    assert.equal(count('big'), 3);
    assert.equal(count('stale'), 0, 'no VMI on a node without a recent heartbeat');
    for (const p of placed.pods) {
      const vmi = placed.all.find(
        (v) => v.metadata.uid === p.metadata.labels?.['kubevirt.io/created-by'],
      );
      assert.equal(
        p.spec.nodeName,
        vmi?.status?.nodeName,
        `pod ${p.metadata.name} is on its VMI's node`,
      );
    }
  });

  it('evicts the VMIs of a node that stops heartbeating; they wait for room, then start elsewhere with the same MACs', async () => {
    const before = await vmis();
    const onBig = before.filter((v) => v.status?.nodeName === 'big');
    beating.delete('big');
    const notReady = await waitFor(
      'big marked not ready',
      async () => {
        const n = (await store.get({ kind: 'Node', name: 'big' })) as NodeObject;
        return n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown'
          ? n
          : undefined;
      },
      5000,
    );
    assert.equal(
      notReady.status?.conditions?.find((c) => c.type === 'Ready')?.reason,
      'NodeStatusUnknown',
    );
    // small is full: the recreated VMIs stay unscheduled until a node has room.
    const waiting = await waitFor('recreated VMIs without a node', async () => {
      const all = await vmis();
      const fresh = all.filter((v) =>
        onBig.some((o) => o.metadata.name === v.metadata.name && o.metadata.uid !== v.metadata.uid),
      );
      return fresh.length === onBig.length ? fresh : undefined;
    });
    assert.ok(
      waiting.every((v) => !v.status?.nodeName),
      'no Ready node had room',
    );
    await store.create(node('fresh', 10, Date.now()));
    beating.add('fresh');
    const moved = await waitFor(
      'evicted VMs on the new node',
      async () => {
        const all = await vmis();
        const mine = all.filter((v) => onBig.some((o) => o.metadata.name === v.metadata.name));
        return mine.length === onBig.length && mine.every((v) => v.status?.nodeName === 'fresh')
          ? mine
          : undefined;
      },
      6000,
    );
    for (const v of moved) {
      const old = onBig.find((o) => o.metadata.name === v.metadata.name)!;
      assert.equal(
        v.spec.domain.devices.interfaces?.[0]?.macAddress,
        old.spec.domain.devices.interfaces?.[0]?.macAddress,
        `${v.metadata.name}: same MAC`,
      );
    }
    const events = (await store.list('Event')).items.map((e) => (e as { reason?: string }).reason);
    assert.ok(events.includes('NodeNotReady'), 'an eviction event');
    assert.ok(
      events.includes('FailedScheduling'),
      'a scheduling failure event while no node had room',
    );
  });
});

describe('scheduler on a single host', () => {
  it('the local node takes every VMI whatever its Node says about capacity (single-host Harrow had no limit)', async () => {
    const h = await startHarness();
    try {
      await h.store.create(node('node-1', 1, Date.now()));
      for (let i = 1; i <= 3; i++) await h.store.create(vmManifest(`local-${i}`));
      for (let i = 1; i <= 3; i++)
        assert.equal((await waitRunning(h, `local-${i}`)).status?.nodeName, 'node-1');
    } finally {
      await h.close();
    }
  });
});

describe('scheduler and persistent disks', () => {
  let cluster: NodeCluster;
  let store: SqliteStore;

  /** A claim whose disk is on `node` (the node its first consumer ran on), as an agent leaves it. */
  const claimOn = (name: string, onNode: string) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace: 'default',
      annotations: { [ANNOTATION_SELECTED_NODE]: onNode },
    },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } },
    status: { phase: 'Bound' },
  });
  const withClaim = (vm: string, claim: string): VirtualMachine => {
    const manifest = vmManifest(vm);
    const spec = manifest.spec.template.spec;
    spec.domain.devices.disks = [{ name: 'data', disk: { bus: 'virtio' } }];
    spec.volumes = [{ name: 'data', persistentVolumeClaim: { claimName: claim } }];
    return manifest;
  };
  const vmiOf = async (name: string) =>
    (await store.get({ kind: 'VirtualMachineInstance', namespace: 'default', name })) as
      VirtualMachineInstance | undefined;

  before(async () => {
    cluster = await startNodeCluster(
      [
        node('a', 10, Date.now()),
        node('b', 10, Date.now()),
        node('later', 10, Date.now() - 3_600_000),
      ],
      { graceMs: GRACE_MS, silent: ['later'] },
    );
    store = cluster.store;
  });
  after(() => cluster.close());

  it("places a VM on the node its claim's disk is on, not the least loaded one", async () => {
    await store.create(claimOn('disk-b', 'b'));
    await store.create(withClaim('on-b', 'disk-b'));
    // Without its disk, a VM goes to the first of two empty nodes by name: a.
    await store.create(vmManifest('free'));
    const placed = await waitFor('both VMIs placed', async () => {
      const [onB, free] = [await vmiOf('on-b'), await vmiOf('free')];
      return onB?.status?.nodeName && free?.status?.nodeName ? { onB, free } : undefined;
    });
    assert.equal(placed.onB.status?.nodeName, 'b');
    assert.equal(placed.free.status?.nodeName, 'a');
  });

  it('a VM whose disk is on a node that is not Ready waits with PodScheduled=False ClaimOnOtherNode, then goes there', async () => {
    await store.create(claimOn('disk-later', 'later'));
    await store.create(withClaim('stranded', 'disk-later'));
    const waiting = await waitFor('PodScheduled=False on the VMI', async () => {
      const vmi = await vmiOf('stranded');
      const c = vmi?.status?.conditions?.find((x) => x.type === 'PodScheduled');
      return c?.status === 'False' ? { vmi: vmi!, c } : undefined;
    });
    assert.equal(waiting.c.reason, 'ClaimOnOtherNode');
    assert.match(waiting.c.message ?? '', /disk-later.*node later/);
    assert.equal(waiting.vmi.status?.nodeName, undefined, 'not placed on another node');
    // The VM says it too, as KubeVirt's VM copies its VMI's conditions.
    const vm = await waitFor('the VM shows ErrorUnschedulable', async () => {
      const v = (await store.get({
        kind: 'VirtualMachine',
        namespace: 'default',
        name: 'stranded',
      })) as VirtualMachine | undefined;
      return v?.status?.printableStatus === 'ErrorUnschedulable' ? v : undefined;
    });
    assert.equal(
      vm.status?.conditions?.find((x) => x.type === 'PodScheduled')?.reason,
      'ClaimOnOtherNode',
    );
    const events = (await store.list('Event')).items as Array<{
      reason?: string;
      message?: string;
    }>;
    assert.ok(events.some((e) => e.reason === 'FailedScheduling' && /later/.test(e.message ?? '')));

    cluster.beating.add('later');
    const placed = await waitFor('placed once its node is Ready', async () => {
      const vmi = await vmiOf('stranded');
      return vmi?.status?.nodeName ? vmi : undefined;
    });
    assert.equal(placed.status?.nodeName, 'later');
    assert.equal(
      placed.status?.conditions?.find((x) => x.type === 'PodScheduled'),
      undefined,
      'the condition goes with the placement',
    );
  });
});
