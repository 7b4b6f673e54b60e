// Validation and defaulting of VirtualMachine manifests: the admission door for network identity (DESIGN §2, §3).
import { MacError, validateMac } from '../mac/mac.ts';
import {
  Invalid,
  fieldDuplicate,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  type StatusCause,
} from './errors.ts';
import { validateDns1123Label } from './names.ts';
import type { Interface, Network, VirtualMachine, VMISpec } from './types.ts';

export const INTERFACES_PATH = 'spec.template.spec.domain.devices.interfaces';
export const NETWORKS_PATH = 'spec.template.spec.networks';
export const macField = (index: number): string => `${INTERFACES_PATH}[${index}].macAddress`;

const RUN_STRATEGIES = new Set(['Always', 'Halted', 'Manual', 'RerunOnFailure', 'Once']);
const SUPPORTED_BINDINGS = ['bridge', 'masquerade'] as const;
const KNOWN_BINDINGS = ['bridge', 'masquerade', 'slirp', 'sriov', 'macvtap', 'passt', 'binding'];
const QUANTITY = /^([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

export type Binding = (typeof SUPPORTED_BINDINGS)[number];

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
  const m = QUANTITY.exec(q);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[3] ?? '';
  const factor: Record<string, number> = {
    '': 1 / (1024 * 1024),
    k: 1000 / (1024 * 1024),
    Ki: 1 / 1024,
    M: 1e6 / (1024 * 1024),
    Mi: 1,
    G: 1e9 / (1024 * 1024),
    Gi: 1024,
    T: 1e12 / (1024 * 1024),
    Ti: 1024 * 1024,
  };
  return Math.ceil(n * (factor[unit] ?? 1));
}

const isObject = (v: unknown): v is Record<string, unknown> =>
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
  causes.push(...validateCompute(tspec));
  const networks = validateNetworks(tspec.networks, causes);
  validateInterfaces(tspec.domain.devices.interfaces, networks, causes);
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

function validateCompute(tspec: VMISpec): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const key of ['cpu', 'memory', 'resources'] as const) {
    const v: unknown = tspec.domain[key];
    if (v !== undefined && !isObject(v))
      causes.push(fieldInvalid(`spec.template.spec.domain.${key}`, 'must be an object'));
  }
  const cpu = isObject(tspec.domain.cpu) ? tspec.domain.cpu : undefined;
  if (cpu !== undefined) {
    for (const key of ['cores', 'sockets', 'threads'] as const) {
      const v = cpu[key];
      if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 64)) {
        causes.push(
          fieldInvalid(
            `spec.template.spec.domain.cpu.${key}`,
            'must be a whole number from 1 to 64',
          ),
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
        'spec.template.spec.domain.memory.guest',
        `${JSON.stringify(guest)}: must be a quantity of at least 16Mi, e.g. 128Mi`,
      ),
    );
  }
  const req = tspec.domain.resources?.requests?.memory;
  if (req !== undefined && (typeof req !== 'string' || quantityToMiB(req) === undefined)) {
    causes.push(
      fieldInvalid(
        'spec.template.spec.domain.resources.requests.memory',
        `${JSON.stringify(req)}: must be a quantity, e.g. 128Mi`,
      ),
    );
  }
  return causes;
}

function validateNetworks(networks: unknown, causes: StatusCause[]): Map<string, Network> {
  const byName = new Map<string, Network>();
  if (networks === undefined) return byName;
  if (!Array.isArray(networks)) {
    causes.push(fieldInvalid(NETWORKS_PATH, 'must be a list'));
    return byName;
  }
  let podNetworks = 0;
  networks.forEach((net: unknown, i) => {
    const field = `${NETWORKS_PATH}[${i}]`;
    if (!isObject(net)) {
      causes.push(fieldInvalid(field, 'must be an object'));
      return;
    }
    const n = net as Network;
    const nameCauses = validateDns1123Label(n.name, `${field}.name`);
    causes.push(...nameCauses);
    if (nameCauses.length === 0) {
      if (byName.has(n.name))
        causes.push(
          fieldDuplicate(`${field}.name`, `network name ${JSON.stringify(n.name)} is used twice`),
        );
      byName.set(n.name, n);
    }
    const sources = ['pod', 'multus'].filter((s) => n[s] !== undefined);
    if (sources.length !== 1) {
      causes.push(fieldInvalid(field, 'a network must have exactly one source: pod or multus'));
      return;
    }
    if (n.pod !== undefined) podNetworks++;
    if (n.multus !== undefined) {
      const target = isObject(n.multus) ? n.multus.networkName : undefined;
      if (typeof target !== 'string' || target === '') {
        causes.push(
          fieldRequired(
            `${field}.multus.networkName`,
            'the NetworkAttachmentDefinition to attach to is required',
          ),
        );
      } else if (
        !/^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(target)
      ) {
        causes.push(
          fieldInvalid(
            `${field}.multus.networkName`,
            `${JSON.stringify(target)}: must be NAME or NAMESPACE/NAME`,
          ),
        );
      }
    }
  });
  if (podNetworks > 1)
    causes.push(fieldInvalid(NETWORKS_PATH, 'at most one pod network is allowed'));
  return byName;
}

function validateInterfaces(
  interfaces: unknown,
  networks: Map<string, Network>,
  causes: StatusCause[],
): void {
  if (interfaces === undefined) return;
  if (!Array.isArray(interfaces)) {
    causes.push(fieldInvalid(INTERFACES_PATH, 'must be a list'));
    return;
  }
  const names = new Set<string>();
  const macs = new Map<string, number>();
  interfaces.forEach((raw: unknown, i) => {
    const field = `${INTERFACES_PATH}[${i}]`;
    if (!isObject(raw)) {
      causes.push(fieldInvalid(field, 'must be an object'));
      return;
    }
    const iface = raw as Interface;
    const nameCauses = validateDns1123Label(iface.name, `${field}.name`);
    causes.push(...nameCauses);
    if (nameCauses.length === 0) {
      if (names.has(iface.name))
        causes.push(
          fieldDuplicate(
            `${field}.name`,
            `interface name ${JSON.stringify(iface.name)} is used twice`,
          ),
        );
      names.add(iface.name);
      if (!networks.has(iface.name)) {
        causes.push(
          fieldInvalid(
            `${field}.name`,
            `no network named ${JSON.stringify(iface.name)} in ${NETWORKS_PATH}: every interface needs a network of the same name`,
          ),
        );
      }
    }
    const bindings = KNOWN_BINDINGS.filter((b) => iface[b] !== undefined);
    if (bindings.length > 1)
      causes.push(
        fieldInvalid(field, `only one binding method may be given, found ${bindings.join(', ')}`),
      );
    const unsupported = bindings.filter(
      (b) => !(SUPPORTED_BINDINGS as readonly string[]).includes(b),
    );
    if (unsupported.length > 0) {
      causes.push(
        fieldNotSupported(
          `${field}.${unsupported[0]}`,
          `binding ${unsupported[0]} is not supported by Harrow: use bridge or masquerade`,
        ),
      );
    }
    const net = networks.get(iface.name);
    if (iface.masquerade !== undefined && net !== undefined && net.pod === undefined) {
      causes.push(
        fieldInvalid(
          `${field}.masquerade`,
          'masquerade binding is only allowed on the pod network',
        ),
      );
    }
    if (iface.macAddress === undefined || iface.macAddress === '') {
      if (iface.macAddress === '') delete iface.macAddress;
      return;
    }
    if (typeof iface.macAddress !== 'string') {
      causes.push(fieldInvalid(macField(i), 'must be a string'));
      return;
    }
    try {
      const mac = validateMac(iface.macAddress, { masquerade: iface.masquerade !== undefined });
      iface.macAddress = mac;
      const first = macs.get(mac);
      if (first !== undefined) {
        causes.push(
          fieldDuplicate(
            macField(i),
            `MAC ${mac} is already used by interface ${JSON.stringify(interfacesAt(interfaces, first))} of this VM`,
          ),
        );
      } else macs.set(mac, i);
    } catch (e) {
      if (!(e instanceof MacError)) throw e;
      causes.push(fieldInvalid(macField(i), e.message));
    }
  });
}

const interfacesAt = (interfaces: unknown[], i: number): string =>
  String((interfaces[i] as Interface).name);
