// The control plane's scheduler and node lifecycle on a real store: placement by load and capacity, no placement on
// stale nodes, eviction of a silent node's VMIs and their recreation elsewhere with the same MACs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startControllers, type RunningControllers } from '../../src/controllers/index.ts';
import type { NodeObject } from '../../src/controllers/scheduler.ts';
import type { Pod, VirtualMachineInstance } from '../../src/resources/types.ts';
import { createSimRuntime } from '../../src/runtime/sim/index.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';
import {
  counterMacAssigner,
  startHarness,
  vmManifest,
  waitFor,
  waitRunning,
} from './controllers-harness.ts';

const GRACE_MS = 400;

function node(name: string, maxVms: number, beatMs: number): NodeObject {
  const t = new Date(beatMs).toISOString();
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    spec: {},
    status: {
      capacity: { cpu: '4', memory: '8192Mi', 'harrow.io/vms': String(maxVms) },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'HarrowAgentReady',
          lastHeartbeatTime: t,
          lastTransitionTime: t,
        },
      ],
    },
  };
}

describe('scheduler and node lifecycle', () => {
  let store: SqliteStore;
  let controllers: RunningControllers;
  const beating = new Set<string>();
  let timer: NodeJS.Timeout;

  before(async () => {
    store = await openSqliteStore(':memory:');
    await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    await store.create(node('small', 1, Date.now()));
    await store.create(node('big', 10, Date.now()));
    await store.create(node('stale', 10, Date.now() - 3_600_000));
    beating.add('small').add('big');
    const beat = async (): Promise<void> => {
      for (const name of beating) {
        const n = (await store.get({ kind: 'Node', name })) as NodeObject;
        const ready = n.status!.conditions!.find((c) => c.type === 'Ready')!;
        ready.lastHeartbeatTime = new Date().toISOString();
        ready.status = 'True';
        await store.update(n);
      }
    };
    timer = setInterval(() => void beat(), 100);
    controllers = await startControllers({
      store,
      runtime: createSimRuntime(),
      macAssigner: counterMacAssigner(store),
      nodeName: 'control-plane',
      roles: { controlPlane: true, node: false },
      nodeGraceMs: GRACE_MS,
    });
  });
  after(async () => {
    clearInterval(timer);
    await controllers.stop();
    await store.close();
  });

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
