// Validation and defaulting of VirtualMachine manifests: the admission door for network identity (DESIGN §2, §3).
import {
  Invalid,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  type StatusCause,
} from './errors.ts';
import { validateDns1123Label } from './names.ts';
import { validateDataVolumeTemplates } from './datavolume.ts';
import { admitNetworks } from './network-admitter.ts';
import type { Interface, Network, VirtualMachine, VMISpec } from './types.ts';
import { quantityToBytes, validateDisksAndVolumes } from './volumes.ts';

export const INTERFACES_PATH = 'spec.template.spec.domain.devices.interfaces';
export const NETWORKS_PATH = 'spec.template.spec.networks';
export const macField = (index: number): string => `${INTERFACES_PATH}[${index}].macAddress`;

const RUN_STRATEGIES = new Set(['Always', 'Halted', 'Manual', 'RerunOnFailure', 'Once']);

export type Binding = 'bridge' | 'masquerade';

/** The binding an interface asks for; KubeVirt defaults to bridge when none is named. */
export function bindingOf(iface: Interface): Binding {
  return iface.masquerade !== undefined ? 'masquerade' : 'bridge';
}

/** The template spec of a VM, or undefined when the manifest lacks one. */
export function templateSpecOf(vm: VirtualMachine): VMISpec | undefined {
  return vm.spec?.template?.spec;
}

export const interfacesOf = (spec: VMISpec | undefined): Interface[] =>
  spec?.domain?.devices?.interfaces ?? [];
export const networksOf = (spec: VMISpec | undefined): Network[] => spec?.networks ?? [];

/** Quantity like "128Mi" → MiB (rounded up); undefined when it is not a quantity. */
export function quantityToMiB(q: string): number | undefined {
  const bytes = quantityToBytes(q);
  return bytes === undefined ? undefined : Math.ceil(bytes / (1024 * 1024));
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates a VirtualMachine and normalises every macAddress to the canonical colon form (mutates `vm`).
 * Throws Invalid with one cause per problem, each naming its field.
 */
export function validateVirtualMachine(vm: VirtualMachine): void {
  const causes: StatusCause[] = [];
  const name = vm.metadata?.name;
  if (name !== undefined && name !== '')
    causes.push(...validateDns1123Label(name, 'metadata.name'));
  if (!isObject(vm.spec))
    throw new Invalid('VirtualMachine has no spec', [fieldRequired('spec', 'spec is required')]);
  const spec = vm.spec;
  if (spec.runStrategy !== undefined && !RUN_STRATEGIES.has(String(spec.runStrategy))) {
    causes.push(
      fieldNotSupported(
        'spec.runStrategy',
        `unsupported value ${JSON.stringify(spec.runStrategy)}: one of ${[...RUN_STRATEGIES].join(', ')}`,
      ),
    );
  }
  if (spec.runStrategy !== undefined && spec.running !== undefined) {
    causes.push(fieldInvalid('spec.running', 'running and runStrategy are mutually exclusive'));
  }
  if (spec.running !== undefined && typeof spec.running !== 'boolean')
    causes.push(fieldInvalid('spec.running', 'must be a boolean'));
  if (!isObject(spec.template) || !isObject(spec.template.spec)) {
    // Name the first level that is missing, so the field exists up to its last step.
    const field = isObject(spec.template) ? 'spec.template.spec' : 'spec.template';
    causes.push(fieldRequired(field, 'a VM needs a template spec'));
    throw invalid(vm, causes);
  }
  const tspec = spec.template.spec;
  if (!isObject(tspec.domain)) {
    causes.push(fieldRequired('spec.template.spec.domain', 'domain is required'));
    throw invalid(vm, causes);
  }
  if (!isObject(tspec.domain.devices)) {
    causes.push(fieldRequired('spec.template.spec.domain.devices', 'devices is required'));
    throw invalid(vm, causes);
  }
  causes.push(...validateCompute(tspec, 'spec.template.spec'));
  causes.push(...admitNetworks(tspec, 'spec.template.spec'));
  causes.push(...validateDisksAndVolumes(tspec, 'spec.template.spec'));
  causes.push(...validateDataVolumeTemplates(spec.dataVolumeTemplates));
  if (causes.length > 0) throw invalid(vm, causes);
}

function invalid(vm: VirtualMachine, causes: StatusCause[]): Invalid {
  // The name may be what the cause complains of: an object (whose toString may be anything) must not be printed.
  const name = typeof vm.metadata?.name === 'string' ? vm.metadata.name : '';
  const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return new Invalid(`VirtualMachine.kubevirt.io "${name}" is invalid: ${summary}`, causes, {
    name,
    group: 'kubevirt.io',
    kind: 'VirtualMachine',
  });
}

/** The domain's CPU and memory fields of a VMI spec found at `base`. */
export function validateCompute(tspec: VMISpec, base: string): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const key of ['cpu', 'memory', 'resources'] as const) {
    const v: unknown = tspec.domain[key];
    if (v !== undefined && !isObject(v))
      causes.push(fieldInvalid(`${base}.domain.${key}`, 'must be an object'));
  }
  const cpu = isObject(tspec.domain.cpu) ? tspec.domain.cpu : undefined;
  if (cpu !== undefined) {
    for (const key of ['cores', 'sockets', 'threads'] as const) {
      const v = cpu[key];
      if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 64)) {
        causes.push(
          fieldInvalid(`${base}.domain.cpu.${key}`, 'must be a whole number from 1 to 64'),
        );
      }
    }
  }
  const guest = tspec.domain.memory?.guest;
  if (
    guest !== undefined &&
    (typeof guest !== 'string' || quantityToMiB(guest) === undefined || quantityToMiB(guest)! < 16)
  ) {
    causes.push(
      fieldInvalid(
        `${base}.domain.memory.guest`,
        `${JSON.stringify(guest)}: must be a quantity of at least 16Mi, e.g. 128Mi`,
      ),
    );
  }
  const req = tspec.domain.resources?.requests?.memory;
  if (req !== undefined && (typeof req !== 'string' || quantityToMiB(req) === undefined)) {
    causes.push(
      fieldInvalid(
        `${base}.domain.resources.requests.memory`,
        `${JSON.stringify(req)}: must be a quantity, e.g. 128Mi`,
      ),
    );
  }
  return causes;
}
