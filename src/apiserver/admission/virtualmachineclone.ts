// Admission for VirtualMachineClones: validate, name the target when none is given, check the given MACs early, freeze the spec.
import { describeHolder, type MacAllocationService } from '../../allocation/service.ts';
import {
  fieldDuplicate,
  fieldInvalid,
  Conflict,
  type StatusCause,
} from '../../resources/errors.ts';
import type { VirtualMachine } from '../../resources/types.ts';
import { interfacesOf, templateSpecOf } from '../../resources/virtualmachine.ts';
import {
  cloneInvalid,
  validateVirtualMachineClone,
  type VirtualMachineClone,
} from '../../resources/virtualmachineclone.ts';
import type { ResourceStore } from '../../store/types.ts';
import { generatedSuffix } from '../../resources/names.ts';
import { deepEqual } from '../patch.ts';
import type { AdmissionPlugin, AdmissionRequest, AdmissionResult } from './types.ts';
import type { VirtualMachineAdmissionOptions } from './virtualmachine.ts';

function targetNameFor(source: string): string {
  const suffix = generatedSuffix();
  return `${source.slice(0, 63 - '-clone-'.length - suffix.length)}-clone-${suffix}`;
}

export function virtualMachineCloneAdmission(
  store: ResourceStore,
  macs: Pick<MacAllocationService, 'holder'>,
  options: VirtualMachineAdmissionOptions = {},
): AdmissionPlugin {
  return {
    kinds: ['VirtualMachineClone'],
    async admit(req: AdmissionRequest): Promise<AdmissionResult | void> {
      if (req.operation === 'delete' || !req.object) return;
      const clone = req.object as VirtualMachineClone;
      if (req.operation === 'update') {
        // KubeVirt's clone spec is immutable: the controller acts on it once.
        const old = req.oldObject as VirtualMachineClone;
        if (!deepEqual(clone.spec, old.spec))
          throw cloneInvalid(clone, [
            fieldInvalid(
              'spec',
              'the spec of a VirtualMachineClone cannot be changed; create a new clone',
            ),
          ]);
        return;
      }
      validateVirtualMachineClone(clone);
      const namespace = clone.metadata.namespace ?? 'default';
      const warnings: string[] = [];
      const target = (clone.spec.target ??= {
        apiGroup: 'kubevirt.io',
        kind: 'VirtualMachine',
        name: '',
      });
      if (target.name === undefined || target.name === '')
        target.name = targetNameFor(clone.spec.source.name);
      const causes: StatusCause[] = [];
      if (await store.get({ kind: 'VirtualMachine', namespace, name: target.name })) {
        causes.push(
          fieldDuplicate(
            'spec.target.name',
            `VirtualMachine ${namespace}/${target.name} already exists: a clone creates a new VM`,
          ),
        );
      }
      const source = (await store.get({
        kind: 'VirtualMachine',
        namespace,
        name: clone.spec.source.name,
      })) as VirtualMachine | undefined;
      if (!source)
        warnings.push(
          `VirtualMachine ${namespace}/${clone.spec.source.name} does not exist yet: the clone waits for it`,
        );
      const ifaces = source ? interfacesOf(templateSpecOf(source)).map((i) => i.name) : undefined;
      for (const [iface, mac] of Object.entries(clone.spec.newMacAddresses ?? {})) {
        const field = `spec.newMacAddresses[${JSON.stringify(iface)}]`;
        if (ifaces && !ifaces.includes(iface)) {
          causes.push(
            fieldInvalid(
              field,
              `the source VM has no interface ${JSON.stringify(iface)} (its interfaces: ${ifaces.join(', ') || 'none'})`,
            ),
          );
        }
        // Reserved when the target VM is created (its own admission); refusing now saves a clone that is bound to fail.
        const held = await macs.holder(mac);
        if (held && held.status?.state === 'InUse') {
          // Named only to a user who may see the holder's namespace, as the VM paths do (and so in the audit record).
          const message = `MAC ${mac} ${describeHolder(held, (namespace) => options.mayNameHolder?.(req.user, namespace) ?? true)}`;
          throw new Conflict(`VirtualMachineClone "${clone.metadata.name}": ${field}: ${message}`, {
            name: clone.metadata.name,
            group: 'clone.kubevirt.io',
            kind: 'VirtualMachineClone',
            causes: [fieldDuplicate(field, message)],
          });
        }
      }
      if (causes.length > 0) throw cloneInvalid(clone, causes);
      return { warnings };
    },
  };
}
