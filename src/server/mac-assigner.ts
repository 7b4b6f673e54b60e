// The network plugin's way to give MACs to a VM or VMI whose namespace has pool admission off (persisted back into the
// object, as Harvester does), and to the interfaces only an instance has (a bare VMI's, KubeVirt's default pod NIC).
import {
  carrierOfInstance,
  isLostMacRace,
  type MacAllocationService,
  type MacPlan,
} from '../allocation/service.ts';
import type { MacAssigner } from '../controllers/context.ts';
import type { KubeObject } from '../resources/meta.ts';
import type { VirtualMachine, VirtualMachineInstance } from '../resources/types.ts';
import type { ResourceStore } from '../store/types.ts';
import { auditRecord } from '../audit/record.ts';

export function macAssigner(store: ResourceStore, macs: MacAllocationService): MacAssigner {
  return {
    assignMissing: (vm) =>
      withRetry(async () => {
        const current = structuredClone(vm);
        const plan = await macs.planVirtualMachine(vm, current, { allocateMissing: true });
        return commitPlan(current, plan, 'VM');
      }),
    assignInstance: (vmi) =>
      withRetry(async () => {
        const current = structuredClone(vmi);
        const plan = await macs.planInstance(carrierOfInstance(vmi), vmi, current, {
          allocateMissing: true,
        });
        return commitPlan(current, plan, 'VMI');
      }),
  };

  /** A plan that lost a race for a MAC (taken meanwhile, or its ended quarantine collected) is made again. */
  async function withRetry<T>(assign: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await assign();
      } catch (e) {
        if (!isLostMacRace(e) || attempt >= 5) throw e;
      }
    }
  }

  /** Commits the object with its filled MACs, the plan's allocations and an audit record, atomically. */
  async function commitPlan<T extends VirtualMachine | VirtualMachineInstance>(
    current: T,
    plan: MacPlan,
    shown: string,
  ): Promise<T> {
    if (plan.changes.length === 0) {
      plan.committed();
      return current;
    }
    try {
      const audit = auditRecord({
        user: 'system:harrow:network-plugin',
        verb: 'assign-mac',
        resource: {
          kind: current.kind,
          namespace: current.metadata.namespace ?? 'default',
          name: current.metadata.name,
        },
        changes: plan.changes,
        outcome: {
          code: 200,
          message: `MAC assigned at pod creation and persisted into the ${shown} spec`,
        },
      });
      const [written]: KubeObject[] = await store.commit([
        { type: 'update', object: current },
        ...plan.ops,
        { type: 'create', object: audit },
      ]);
      plan.committed();
      return written as T;
    } catch (e) {
      plan.rollback();
      throw e;
    }
  }
}
