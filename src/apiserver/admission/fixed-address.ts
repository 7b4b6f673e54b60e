// Admission of fixed addresses (`static-ip.harvesterhci.io/<interface>` annotations): each is checked against its
// network and claimed for the VM (or bare VMI) in the same commit, so a second holder of an address gets a 409 naming
// the first; the claims of a VM go with it. A VM's instance runs with its VM's addresses and may not change them.
import { carrierOfVm, carrierOfVmi, type MacCarrier } from '../../allocation/service.ts';
import { checkFixedAddresses, planFixedAddresses } from '../../allocation/fixed-addresses.ts';
import { fieldInvalid } from '../../resources/errors.ts';
import { fixedAddressesOf, staticIpField } from '../../network/fixed-address.ts';
import type { VirtualMachine, VirtualMachineInstance, VMISpec } from '../../resources/types.ts';
import { controllingVm } from '../../resources/virtualmachineinstance.ts';
import type { ResourceStore } from '../../store/types.ts';
import {
  objectInvalid,
  type AdmissionPlugin,
  type AdmissionRequest,
  type AdmissionResult,
} from './types.ts';
import { holderNaming, type VirtualMachineAdmissionOptions } from './virtualmachine.ts';

export function fixedAddressAdmission(
  store: ResourceStore,
  options: VirtualMachineAdmissionOptions = {},
): AdmissionPlugin {
  return {
    kinds: ['VirtualMachine', 'VirtualMachineInstance'],
    async admit(req: AdmissionRequest): Promise<AdmissionResult | void> {
      if (req.subresource === 'status') return;
      const object = req.object ?? req.oldObject;
      if (!object) return;
      const kind = req.kind as 'VirtualMachine' | 'VirtualMachineInstance';
      const shown = `${kind}.kubevirt.io`;
      const now = fixedAddressesOf(req.object?.metadata.annotations);
      const before = fixedAddressesOf(req.oldObject?.metadata.annotations);
      if (now.size === 0 && before.size === 0) return;
      const namespace = object.metadata.namespace ?? 'default';
      let carrier: MacCarrier;
      let spec: VMISpec | undefined;
      if (kind === 'VirtualMachine') {
        carrier = carrierOfVm(object as VirtualMachine);
        spec = (req.object as VirtualMachine | undefined)?.spec?.template?.spec;
      } else {
        const vmi = object as VirtualMachineInstance;
        const vm = controllingVm(vmi);
        if (vm) {
          if (req.operation === 'delete') return;
          await checkInstanceOfVm(
            store,
            vmi,
            req.oldObject as VirtualMachineInstance | undefined,
            vm.name,
            shown,
          );
          return;
        }
        carrier = carrierOfVmi(vmi);
        spec = (req.object as VirtualMachineInstance | undefined)?.spec;
      }
      let requests: Awaited<ReturnType<typeof checkFixedAddresses>>['requests'] = [];
      if (req.operation !== 'delete') {
        const checked = await checkFixedAddresses(
          store,
          req.object?.metadata.annotations,
          spec,
          namespace,
        );
        if (checked.causes.length > 0)
          throw objectInvalid(shown, kind, 'kubevirt.io', object.metadata.name, checked.causes);
        requests = checked.requests;
      }
      const plan = await planFixedAddresses(
        store,
        carrier,
        requests,
        holderNaming(options, req.user).mayNameHolder,
        req.operation === 'delete',
      );
      return { ops: plan.ops, changes: plan.changes };
    },
  };
}

/**
 * A VM's instance runs with the addresses its VM held when it started (the VM controller copies them): one created
 * through the API must carry the VM's, and an update may not change them.
 */
async function checkInstanceOfVm(
  store: ResourceStore,
  vmi: VirtualMachineInstance,
  old: VirtualMachineInstance | undefined,
  vmName: string,
  shown: string,
): Promise<void> {
  const asked = fixedAddressesOf(vmi.metadata.annotations);
  let held: Map<string, string>;
  if (old) held = fixedAddressesOf(old.metadata.annotations);
  else {
    const vm = (await store.get({
      kind: 'VirtualMachine',
      namespace: vmi.metadata.namespace ?? 'default',
      name: vmName,
    })) as VirtualMachine | undefined;
    held = fixedAddressesOf(vm?.metadata.annotations);
  }
  const differing = [...new Set([...asked.keys(), ...held.keys()])].filter(
    (k) => asked.get(k) !== held.get(k),
  );
  if (differing.length === 0) return;
  throw objectInvalid(
    shown,
    'VirtualMachineInstance',
    'kubevirt.io',
    vmi.metadata.name,
    differing.map((iface) =>
      fieldInvalid(
        staticIpField(iface),
        old
          ? `the fixed address of a running instance does not change; set it on VirtualMachine ${vmName} (it applies at the next start)`
          : `an instance of VirtualMachine ${vmName} runs with the fixed addresses its VM holds; set it on the VirtualMachine`,
      ),
    ),
  );
}
