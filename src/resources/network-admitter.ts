// KubeVirt's network admission rules for a VMI spec (a VMI's `spec` or a VM's `spec.template.spec`): the causes, field
// paths and messages KubeVirt's pkg/network/admitter gives, plus Harrow's own MAC rules (unicast, unique in the object).
import { MASQUERADE_BRIDGE_MAC, MacError, kubevirtMacOctets, validateMac } from '../mac/mac.ts';
import {
  fieldDuplicate,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  type StatusCause,
} from './errors.ts';
import type { Interface, Network, VMISpec } from './types.ts';

const SUPPORTED_BINDINGS = ['bridge', 'masquerade'];
const KNOWN_BINDINGS = [
  'bridge',
  'masquerade',
  'slirp',
  'sriov',
  'macvtap',
  'passt',
  'binding',
] as const;
/** The NIC models KubeVirt accepts. */
const INTERFACE_MODELS = new Set(['e1000', 'e1000e', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio']);
const INTERFACE_NAME = /^[A-Za-z0-9_-]+$/;
const NAD_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The field paths of a VMI spec found at `base` (`spec` on a VMI, `spec.template.spec` on a VM). */
export function specPaths(base: string): {
  interfaces: string;
  networks: string;
  iface: (i: number) => string;
  network: (i: number) => string;
} {
  const interfaces = `${base}.domain.devices.interfaces`;
  const networks = `${base}.networks`;
  return {
    interfaces,
    networks,
    iface: (i) => `${interfaces}[${i}]`,
    network: (i) => `${networks}[${i}]`,
  };
}

/**
 * Every cause KubeVirt's network admitter finds in `spec` (rooted at `base`), plus Harrow's MAC rules and the bindings
 * Harrow does not run. Rewrites each valid macAddress in the canonical lower-case colon form (mutates `spec`).
 */
export function admitNetworks(spec: VMISpec, base: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const paths = specPaths(base);
  const rawNetworks: unknown = spec.networks;
  const rawInterfaces: unknown = spec.domain?.devices?.interfaces;
  if (rawNetworks !== undefined && !Array.isArray(rawNetworks))
    causes.push(fieldInvalid(paths.networks, 'must be a list'));
  if (rawInterfaces !== undefined && !Array.isArray(rawInterfaces))
    causes.push(fieldInvalid(paths.interfaces, 'must be a list'));
  const networks: Array<Network | undefined> = (
    Array.isArray(rawNetworks) ? (rawNetworks as unknown[]) : []
  ).map((n, i) => {
    if (isObject(n) && typeof n.name === 'string' && n.name !== '') return n as Network;
    causes.push(
      isObject(n) ? nameCause(n.name, `${paths.network(i)}.name`) : objectCause(paths.network(i)),
    );
    return undefined;
  });
  const interfaces: Array<Interface | undefined> = (
    Array.isArray(rawInterfaces) ? (rawInterfaces as unknown[]) : []
  ).map((f, i) => {
    if (isObject(f) && typeof f.name === 'string' && f.name !== '') return f as Interface;
    causes.push(
      isObject(f) ? nameCause(f.name, `${paths.iface(i)}.name`) : objectCause(paths.iface(i)),
    );
    return undefined;
  });
  const byName = new Map<string, Network>();
  for (const n of networks) if (n && !byName.has(n.name)) byName.set(n.name, n);
  const ifaceNames = new Set(interfaces.flatMap((f) => (f ? [f.name] : [])));

  // Network sources: one pod network at most, one source each, multus needs a networkName.
  const pods = networks.filter((n) => n?.pod !== undefined).length;
  const multusDefaults = networks.filter((n) => n?.multus?.default === true).length;
  if (pods > 1)
    causes.push(
      fieldDuplicate(
        `${base}.interfaces`,
        `more than one interface is connected to a pod network in ${base}.interfaces`,
      ),
    );
  if (multusDefaults > 1)
    causes.push(fieldInvalid(paths.networks, 'Multus CNI should only have one default network'));
  if (pods > 0 && multusDefaults > 0)
    causes.push(
      fieldInvalid(
        paths.networks,
        'Pod network cannot be defined when Multus default network is defined',
      ),
    );
  networks.forEach((n, i) => {
    if (!n) return;
    if (n.pod === undefined && n.multus === undefined)
      causes.push(fieldRequired(paths.network(i), 'should have a network type'));
    else if (n.pod !== undefined && n.multus !== undefined)
      causes.push(fieldRequired(paths.network(i), 'should have only one network type'));
    if (n.multus !== undefined) {
      const target = isObject(n.multus) ? n.multus.networkName : undefined;
      if (target !== undefined && typeof target !== 'string')
        causes.push(fieldInvalid(`${paths.network(i)}.multus.networkName`, 'must be a string'));
      else if (target === undefined || target === '')
        causes.push(
          fieldRequired(paths.network(i), 'CNI delegating plugin must have a networkName'),
        );
      else if (!NAD_NAME.test(target))
        causes.push(
          fieldInvalid(
            `${paths.network(i)}.multus.networkName`,
            `${JSON.stringify(target)}: must be NAME or NAMESPACE/NAME`,
          ),
        );
    }
  });

  // Bindings: masquerade only on the pod network; Harrow runs bridge and masquerade.
  interfaces.forEach((f, i) => {
    if (!f) return;
    const field = paths.iface(i);
    const bindings = KNOWN_BINDINGS.filter((b) => f[b] !== undefined);
    if (f.binding !== undefined && bindings.length > 1)
      causes.push(
        fieldInvalid(
          `${field}.binding`,
          `logical ${f.name} interface cannot have both binding plugin and interface binding method`,
        ),
      );
    else if (bindings.length > 1)
      causes.push(
        fieldInvalid(field, `only one binding method may be given, found ${bindings.join(', ')}`),
      );
    const unsupported = bindings.find((b) => !SUPPORTED_BINDINGS.includes(b));
    if (unsupported !== undefined)
      causes.push(
        fieldNotSupported(
          `${field}.${unsupported}`,
          `binding ${unsupported} is not supported by Harrow: use bridge or masquerade`,
        ),
      );
    const net = byName.get(f.name);
    if (f.masquerade !== undefined && net?.pod === undefined)
      causes.push(
        fieldInvalid(`${field}.name`, 'Masquerade interface only implemented with pod network'),
      );
    if (
      f.masquerade !== undefined &&
      typeof f.macAddress === 'string' &&
      kubevirtMacOctets(f.macAddress) === 6 &&
      validateMacOrUndefined(f.macAddress) === MASQUERADE_BRIDGE_MAC
    )
      causes.push(
        fieldInvalid(
          `${field}.macAddress`,
          'The requested MAC address is reserved for the in-pod bridge. Please choose another one.',
        ),
      );
  });

  // Names: unique, and every network used by an interface of its name and the other way round.
  const seenNetworks = new Set<string>();
  networks.forEach((n, i) => {
    if (!n) return;
    if (seenNetworks.has(n.name))
      causes.push(
        fieldDuplicate(
          `${paths.network(i)}.name`,
          `Network with name ${JSON.stringify(n.name)} already exists, every network must have a unique name`,
        ),
      );
    seenNetworks.add(n.name);
    if (!ifaceNames.has(n.name))
      causes.push(
        fieldRequired(
          `${paths.network(i)}.name`,
          `${paths.network(i)}.name '${n.name}' not found.`,
        ),
      );
  });
  const seenInterfaces = new Set<string>();
  interfaces.forEach((f, i) => {
    if (!f) return;
    if (seenInterfaces.has(f.name))
      causes.push(
        fieldDuplicate(
          `${paths.iface(i)}.name`,
          'Only one interface can be connected to one specific network',
        ),
      );
    seenInterfaces.add(f.name);
    if (!byName.has(f.name))
      causes.push(
        fieldInvalid(`${paths.iface(i)}.name`, `${paths.iface(i)}.name '${f.name}' not found.`),
      );
  });

  // Each interface's own fields: name format, model, MAC.
  const macs = new Map<string, string>();
  interfaces.forEach((f, i) => {
    if (!f) return;
    const field = paths.iface(i);
    if (!INTERFACE_NAME.test(f.name))
      causes.push(
        fieldInvalid(
          `${field}.name`,
          'Network interface name can only contain alphabetical characters, numbers, dashes (-) or underscores (_)',
        ),
      );
    if (f.model !== undefined && f.model !== '' && !INTERFACE_MODELS.has(String(f.model)))
      causes.push(
        fieldNotSupported(
          `${field}.model`,
          `interface ${field}.name uses model ${String(f.model)} that is not supported.`,
        ),
      );
    const mac = admitMac(f, field, causes);
    if (mac === undefined) return;
    const first = macs.get(mac);
    if (first !== undefined)
      causes.push(
        fieldDuplicate(
          `${field}.macAddress`,
          `MAC ${mac} is already used by interface ${JSON.stringify(first)} of this object`,
        ),
      );
    else macs.set(mac, f.name);
  });
  return causes;
}

const objectCause = (field: string): StatusCause => fieldInvalid(field, 'must be an object');
const nameCause = (name: unknown, field: string): StatusCause =>
  name === undefined || name === ''
    ? fieldRequired(field, 'a name is required')
    : fieldInvalid(field, 'must be a string');

function validateMacOrUndefined(text: string): string | undefined {
  try {
    return validateMac(text);
  } catch (e) {
    if (e instanceof MacError) return undefined;
    throw e;
  }
}

/** KubeVirt's MAC causes (malformed, too long), then Harrow's (a NIC needs a unicast, non-zero address); the canonical MAC when valid. */
function admitMac(f: Interface, field: string, causes: StatusCause[]): string | undefined {
  const text: unknown = f.macAddress;
  if (text === undefined || text === '') {
    if (text === '') delete f.macAddress;
    return undefined;
  }
  const macField = `${field}.macAddress`;
  if (typeof text !== 'string') {
    causes.push(fieldInvalid(macField, 'must be a string'));
    return undefined;
  }
  const octets = kubevirtMacOctets(text);
  if (octets === undefined) {
    causes.push(
      fieldInvalid(macField, `interface ${field}.name has malformed MAC address (${text}).`),
    );
    return undefined;
  }
  if (octets > 6) {
    causes.push(
      fieldInvalid(macField, `interface ${field}.name has MAC address (${text}) that is too long.`),
    );
    return undefined;
  }
  try {
    const mac = validateMac(text);
    f.macAddress = mac;
    return mac;
  } catch (e) {
    if (!(e instanceof MacError)) throw e;
    causes.push(fieldInvalid(macField, e.message));
    return undefined;
  }
}
