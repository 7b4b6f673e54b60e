// The network plugin's way to give MACs to a VM whose namespace has pool admission off (persisted back to the VM, as Harvester does).
import { isLostMacRace, type MacAllocationService } from '../allocation/service.ts';
import type { VirtualMachine } from '../resources/types.ts';
import type { ResourceStore } from '../store/types.ts';
import { auditRecord } from '../audit/record.ts';

export interface MacAssigner {
  assignMissing(vm: VirtualMachine): Promise<VirtualMachine>;
}

export function macAssigner(store: ResourceStore, macs: MacAllocationService): MacAssigner {
  return {
    async assignMissing(vm) {
      // A plan that lost a race for a MAC (taken meanwhile, or its ended quarantine collected) is made again.
      for (let attempt = 1; ; attempt++) {
        try {
          return await assignOnce(vm);
        } catch (e) {
          if (!isLostMacRace(e) || attempt >= 5) throw e;
        }
      }
    },
  };

  async function assignOnce(vm: VirtualMachine): Promise<VirtualMachine> {
    const current = structuredClone(vm);
    const plan = await macs.planVirtualMachine(vm, current, { allocateMissing: true });
    if (plan.changes.length === 0) {
      plan.committed();
      return current;
    }
    try {
      const audit = auditRecord({
        user: 'system:harrow:network-plugin',
        verb: 'assign-mac',
        resource: {
          kind: 'VirtualMachine',
          namespace: vm.metadata.namespace ?? 'default',
          name: vm.metadata.name,
        },
        changes: plan.changes,
        outcome: {
          code: 200,
          message: 'MAC assigned at pod creation and persisted into the VM spec',
        },
      });
      const [written] = await store.commit([
        { type: 'update', object: current },
        ...plan.ops,
        { type: 'create', object: audit },
      ]);
      plan.committed();
      return written as VirtualMachine;
    } catch (e) {
      plan.rollback();
      throw e;
    }
  }
}
