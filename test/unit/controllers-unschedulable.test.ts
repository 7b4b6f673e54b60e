// A VMI no node has room for says why on the API, as KubeVirt shows it: PodScheduled=False with reason Unschedulable
// and kube-scheduler's wording on the VMI, the same condition and ErrorUnschedulable on its VM, one Warning Event; all
// of it goes once a node has room.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Condition } from '../../src/resources/meta.ts';
import type {
  KubeEvent,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../src/resources/types.ts';
import type { SqliteStore } from '../../src/store/sqlite/store.ts';
import {
  readyNode,
  startNodeCluster,
  vmManifest,
  waitFor,
  type NodeCluster,
} from './controllers-harness.ts';

const conditionOf = (
  o: { status?: { conditions?: Condition[] } } | undefined,
  type: string,
): Condition | undefined => o?.status?.conditions?.find((c) => c.type === type);

describe('a VMI no node has room for', () => {
  let cluster: NodeCluster;
  let store: SqliteStore;

  before(async () => {
    cluster = await startNodeCluster(
      [readyNode('one-vm', 1), readyNode('tiny', 10, { memory: '64Mi' })],
      {
        graceMs: 2000,
      },
    );
    store = cluster.store;
  });
  after(() => cluster.close());

  const get = async <T>(kind: string, name: string): Promise<T | undefined> =>
    (await store.get({ kind, namespace: 'default', name })) as T | undefined;

  it('shows PodScheduled=False Unschedulable with the reasons on the VMI and the VM, and one Warning Event', async () => {
    await store.create(vmManifest('fits', { macs: ['02:00:00:00:00:01'] }));
    await waitFor(
      'fits placed',
      async () =>
        (await get<VirtualMachineInstance>('VirtualMachineInstance', 'fits'))?.status?.nodeName,
    );
    await store.create(vmManifest('waits', { macs: ['02:00:00:00:00:02'] }));
    const vmi = await waitFor('the waiting VMI says why', async () => {
      const v = await get<VirtualMachineInstance>('VirtualMachineInstance', 'waits');
      return conditionOf(v, 'PodScheduled') ? v : undefined;
    });
    const c = conditionOf(vmi, 'PodScheduled')!;
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'Unschedulable');
    assert.equal(
      c.message,
      '0/2 nodes are available: 1 Insufficient memory, 1 Too many VMs (harrow.io/vms).',
    );
    assert.equal(vmi.status?.nodeName, undefined);

    const vm = await waitFor('the VM shows it', async () => {
      const v = await get<VirtualMachine>('VirtualMachine', 'waits');
      return v?.status?.printableStatus === 'ErrorUnschedulable' ? v : undefined;
    });
    assert.deepEqual(
      {
        ...conditionOf(vm, 'PodScheduled'),
        lastTransitionTime: undefined,
        lastProbeTime: undefined,
      },
      { ...c, lastTransitionTime: undefined, lastProbeTime: undefined },
    );
    const events = (await store.list('Event', { namespace: 'default' })).items as KubeEvent[];
    const failed = events.filter(
      (e) => e.reason === 'FailedScheduling' && e.involvedObject.name === 'waits',
    );
    assert.equal(failed.length, 1, 'one event, not one per retry');
    assert.equal(failed[0]!.type, 'Warning');
    assert.equal(failed[0]!.message, c.message);
  });

  it('a node with room places it, and the condition goes from the VMI and the VM', async () => {
    await store.create(readyNode('roomy', 10));
    cluster.beating.add('roomy');
    const vmi = await waitFor('placed on roomy', async () => {
      const v = await get<VirtualMachineInstance>('VirtualMachineInstance', 'waits');
      return v?.status?.nodeName === 'roomy' ? v : undefined;
    });
    assert.equal(conditionOf(vmi, 'PodScheduled'), undefined);
    const vm = await waitFor('the VM no longer unschedulable', async () => {
      const v = await get<VirtualMachine>('VirtualMachine', 'waits');
      return v && !conditionOf(v, 'PodScheduled') ? v : undefined;
    });
    assert.notEqual(vm.status?.printableStatus, 'ErrorUnschedulable');
  });
});
