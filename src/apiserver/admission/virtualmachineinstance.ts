// Admission for VirtualMachineInstances: KubeVirt's defaulting and validation, the MAC pool for a bare VMI's own
// interfaces (a VMI owned by a VM holds its VM's MACs), and KubeVirt's rule that a VMI's spec does not change.
import { carrierOfInstance, type MacAllocationService } from '../../allocation/service.ts';
import { fieldNotSupported } from '../../resources/errors.ts';
import { attachDefaultPodInterface } from '../../resources/pod-interface-default.ts';
import type { Interface, VirtualMachineInstance } from '../../resources/types.ts';
import {
  validateVirtualMachineInstance,
  vmiInvalid,
} from '../../resources/virtualmachineinstance.ts';
import type { ResourceStore } from '../../store/types.ts';
import { deepEqual } from '../patch.ts';
import type { AdmissionPlugin, AdmissionRequest, AdmissionResult } from './types.ts';
import {
  admissionResultOf,
  holderNaming,
  poolAdmissionEnabled,
  type VirtualMachineAdmissionOptions,
} from './virtualmachine.ts';

/**
 * Whether `next` differs from `old` only by MACs filled into interfaces that had none: what the network plugin writes
 * when pool admission is off in the namespace. Any other change of a VMI's spec is refused, as KubeVirt refuses it.
 */
function onlyFillsMacs(old: VirtualMachineInstance, next: VirtualMachineInstance): boolean {
  const stripped = structuredClone(next.spec);
  const oldInterfaces: Interface[] = old.spec?.domain?.devices?.interfaces ?? [];
  const interfaces: Interface[] = stripped?.domain?.devices?.interfaces ?? [];
  interfaces.forEach((iface, i) => {
    if (oldInterfaces[i] !== undefined && oldInterfaces[i].macAddress === undefined)
      delete iface.macAddress;
  });
  return deepEqual(stripped, old.spec);
}

export function virtualMachineInstanceAdmission(
  store: ResourceStore,
  macs: MacAllocationService,
  options: VirtualMachineAdmissionOptions = {},
): AdmissionPlugin {
  return {
    kinds: ['VirtualMachineInstance'],
    async admit(req: AdmissionRequest): Promise<AdmissionResult | void> {
      if (req.operation === 'delete' || !req.object) return;
      const vmi = req.object as VirtualMachineInstance;
      const old = req.oldObject as VirtualMachineInstance | undefined;
      if (req.subresource === 'status') return;
      if (old) {
        if (deepEqual(vmi.spec, old.spec)) return;
        if (!onlyFillsMacs(old, vmi))
          throw vmiInvalid(vmi.metadata.name, [
            fieldNotSupported('spec', 'update of VMI object is restricted'),
          ]);
      } else attachDefaultPodInterface(vmi.spec);
      validateVirtualMachineInstance(vmi);
      const allocateMissing = await poolAdmissionEnabled(
        store,
        vmi.metadata.namespace ?? 'default',
      );
      const plan = await macs.planInstance(carrierOfInstance(vmi), old, vmi, {
        allocateMissing: allocateMissing && !old,
        ...holderNaming(options, req.user),
      });
      return admissionResultOf(plan);
    },
  };
}
