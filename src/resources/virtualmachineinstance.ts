// Validation of VirtualMachineInstance manifests, bare or owned by a VM: the same door as a VM's template (DESIGN §2).
import { Invalid, fieldRequired, type StatusCause } from './errors.ts';
import { validateDns1123Label } from './names.ts';
import { admitNetworks } from './network-admitter.ts';
import type { VirtualMachineInstance } from './types.ts';
import { isObject, validateCompute } from './virtualmachine.ts';

/** The VM that controls a VMI (KubeVirt's controller ownerReference), or undefined for a bare VMI. */
export const controllingVm = (
  vmi: VirtualMachineInstance,
): { name: string; uid?: string } | undefined =>
  vmi.metadata.ownerReferences?.find((o) => o.kind === 'VirtualMachine' && o.controller !== false);

export function vmiInvalid(name: string, causes: StatusCause[]): Invalid {
  return new Invalid(
    `VirtualMachineInstance.kubevirt.io "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
    causes,
    { name, group: 'kubevirt.io', kind: 'VirtualMachineInstance' },
  );
}

/**
 * Validates a VMI's spec as KubeVirt does a VM's template (field paths rooted at `spec`) and writes each macAddress in
 * canonical form (mutates `vmi`). Throws Invalid with one cause per problem.
 */
export function validateVirtualMachineInstance(vmi: VirtualMachineInstance): void {
  const name = typeof vmi.metadata?.name === 'string' ? vmi.metadata.name : '';
  const causes: StatusCause[] = [];
  if (name !== '') causes.push(...validateDns1123Label(name, 'metadata.name'));
  if (!isObject(vmi.spec)) throw vmiInvalid(name, [fieldRequired('spec', 'spec is required')]);
  if (!isObject(vmi.spec.domain))
    throw vmiInvalid(name, [...causes, fieldRequired('spec.domain', 'domain is required')]);
  if (!isObject(vmi.spec.domain.devices))
    throw vmiInvalid(name, [
      ...causes,
      fieldRequired('spec.domain.devices', 'devices is required'),
    ]);
  causes.push(...validateCompute(vmi.spec, 'spec'));
  causes.push(...admitNetworks(vmi.spec, 'spec'));
  if (causes.length > 0) throw vmiInvalid(name, causes);
}
