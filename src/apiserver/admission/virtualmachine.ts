// Admission for VirtualMachines: validate the manifest, then allocate missing MACs and reserve user-given ones.
import type { MacAllocationService, MacPlan, PlanOptions } from '../../allocation/service.ts';
import { maintenanceAnnotationCauses } from '../../maintenance/window.ts';
import { staleMacMatchWarnings } from '../../network/network-config.ts';
import { poolAdmissionOn } from '../../resources/pool-admission.ts';
import type { VirtualMachine } from '../../resources/types.ts';
import { validateVirtualMachine } from '../../resources/virtualmachine.ts';
import type { ResourceStore } from '../../store/types.ts';
import {
  objectInvalid,
  type AdmissionPlugin,
  type AdmissionRequest,
  type AdmissionResult,
  type UserInfo,
} from './types.ts';

/** Whether the MAC pool fills missing MACs at admission in this namespace (off: the network plugin assigns them at pod creation; see poolAdmissionOn). */
export async function poolAdmissionEnabled(
  store: ResourceStore,
  namespace: string,
): Promise<boolean> {
  const ns = await store.get({ kind: 'Namespace', name: namespace });
  return poolAdmissionOn(ns?.metadata);
}

export interface VirtualMachineAdmissionOptions {
  /** Whether `user` may learn which VM in `namespace` holds a MAC (roles.ts maySeeNamespace); default: yes. */
  mayNameHolder?: (user: UserInfo, namespace: string) => boolean;
}

export function virtualMachineAdmission(
  store: ResourceStore,
  macs: MacAllocationService,
  options: VirtualMachineAdmissionOptions = {},
): AdmissionPlugin {
  return {
    kinds: ['VirtualMachine'],
    async admit(req: AdmissionRequest): Promise<AdmissionResult | void> {
      if (req.operation === 'delete' || !req.object) return;
      const vm = req.object as VirtualMachine;
      validateVirtualMachine(vm);
      const windowCauses = maintenanceAnnotationCauses(vm, req.oldObject);
      if (windowCauses.length > 0) {
        throw objectInvalid(
          'VirtualMachine.kubevirt.io',
          'VirtualMachine',
          'kubevirt.io',
          vm.metadata.name,
          windowCauses,
        );
      }
      const allocateMissing = await poolAdmissionEnabled(store, vm.metadata.namespace ?? 'default');
      // The 409 for a MAC held elsewhere names the holder only to a user who may see the holder's namespace.
      const plan = await macs.planVirtualMachine(req.oldObject as VirtualMachine | undefined, vm, {
        allocateMissing,
        ...holderNaming(options, req.user),
      });
      // After the plan: a MAC the pool just chose is the new MAC too.
      const result = admissionResultOf(plan);
      const stale = staleMacMatchWarnings(req.oldObject as VirtualMachine | undefined, vm);
      return stale.length > 0
        ? { ...result, warnings: [...(result.warnings ?? []), ...stale] }
        : result;
    },
  };
}

/** The 409 for a MAC held elsewhere names the holder only to a user who may see the holder's namespace. */
export const holderNaming = (
  options: VirtualMachineAdmissionOptions,
  user: UserInfo,
): Pick<PlanOptions, 'mayNameHolder'> => {
  const may = options.mayNameHolder;
  return may ? { mayNameHolder: (namespace: string) => may(user, namespace) } : {};
};

/** A MAC plan as admission's result: its writes to commit with the object, and how to finish or undo it. */
export const admissionResultOf = (plan: MacPlan): AdmissionResult => ({
  ops: plan.ops,
  warnings: plan.warnings,
  changes: plan.changes,
  rollback: plan.rollback,
  committed: plan.committed,
});
