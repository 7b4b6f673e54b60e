// The network plugin's way to give MACs to a VM whose namespace has pool admission off (persisted back to the VM, as Harvester does).
import type { MacAllocationService } from '../allocation/service.ts';
import type { VirtualMachine } from '../resources/types.ts';
import type { ResourceStore } from '../store/types.ts';
import { auditRecord } from '../audit/record.ts';

export interface MacAssigner {
  assignMissing(vm: VirtualMachine): Promise<VirtualMachine>;
}

export function macAssigner(store: ResourceStore, macs: MacAllocationService): MacAssigner {
  return {
    async assignMissing(vm) {
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
    },
  };
}
