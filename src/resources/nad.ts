// NetworkAttachmentDefinitions: parse and validate the CNI JSON in spec.config into the network Harrow creates, and the
// built-in pod network.
import {
  type Cidr,
  broadcastOf,
  cidrOverlaps,
  cidrWithin,
  formatCidr,
  formatIpv4,
  isHostOf,
  parseCidr,
  parseIpv4,
} from '../ip/ipv4.ts';
import { Invalid, fieldInvalid, fieldRequired, type StatusCause } from './errors.ts';
import type { NetworkAttachmentDefinition } from './types.ts';

const CONFIG_FIELD = 'spec.config';
export const SUPPORTED_CNI_TYPES = ['bridge', 'harrow-bridge'] as const;

/** The host network a NAD (or the pod network) stands for; the same shape as the runtime's NetworkSpec. */
export interface NadNetwork {
  id: string;
  name: string;
  cidr: string;
  gateway: string;
  dhcpRange: { start: string; end: string };
  vlan?: number;
}

/** The CNI `ipam` section Harrow reads. */
export interface NadIpam {
  type?: string;
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
  [field: string]: unknown;
}

/** The CNI config of a NAD, as far as Harrow reads it; every other field is kept. */
export interface NadConfig {
  cniVersion?: string;
  type: string;
  vlan?: number;
  ipam?: NadIpam;
  [field: string]: unknown;
}

/** Every VM network lives in 198.18.0.0/15 (RFC 2544); the upper /16 is the pod network's. */
export const VM_NETWORKS = { base: '198.18.0.0', prefix: 15 } as const;
export const POD_NETWORK_CIDR = '198.19.0.0/16';
/** Name of the built-in pod network in network-status (the role of Kubernetes' cluster default network). */
export const POD_NETWORK_NAME = 'harrow-pod-network';

/** The one cluster-wide pod network (`pod: {}` interfaces). */
export const POD_NETWORK: NadNetwork = {
  id: 'podnet',
  name: POD_NETWORK_NAME,
  cidr: POD_NETWORK_CIDR,
  gateway: '198.19.0.1',
  dhcpRange: { start: '198.19.1.0', end: '198.19.255.254' },
};

const VM_BLOCK = parseCidr(`${VM_NETWORKS.base}/${VM_NETWORKS.prefix}`) as Cidr;
const POD_BLOCK = parseCidr(POD_NETWORK_CIDR) as Cidr;

/** The network id of a NAD: the first 8 hex digits of its uid (names host objects; never user text). */
export function networkIdOf(nad: NetworkAttachmentDefinition): string {
  const hex = (nad.metadata.uid ?? '').replace(/[^0-9a-fA-F]/g, '').toLowerCase();
  if (hex.length < 8) {
    throw new Invalid(`NetworkAttachmentDefinition ${nad.metadata.name} has no uid`, [
      fieldRequired('metadata.uid', 'a stored NetworkAttachmentDefinition has a uid'),
    ]);
  }
  return hex.slice(0, 8);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const cause = (message: string): StatusCause => fieldInvalid(CONFIG_FIELD, message);

function invalid(nad: NetworkAttachmentDefinition, causes: StatusCause[]): Invalid {
  const name = nad.metadata?.name ?? '';
  return new Invalid(
    `NetworkAttachmentDefinition.k8s.cni.cncf.io "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
    causes,
    { name, group: 'k8s.cni.cncf.io', kind: 'NetworkAttachmentDefinition' },
  );
}

/**
 * Validates a NAD's spec.config and returns the parsed CNI config. With `requireIpam: false` a config without `ipam` is
 * accepted (admission then fills a free subnet). Throws Invalid whose causes name `spec.config`.
 */
export function validateNadConfig(
  nad: NetworkAttachmentDefinition,
  options: { requireIpam?: boolean } = {},
): NadConfig {
  const raw = nad.spec?.config;
  if (raw === undefined || raw === '') {
    throw invalid(nad, [fieldRequired(CONFIG_FIELD, 'the CNI configuration (JSON) is required')]);
  }
  if (typeof raw !== 'string')
    throw invalid(nad, [cause('must be a string holding the CNI configuration as JSON')]);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw invalid(nad, [cause(`not valid JSON: ${e instanceof Error ? e.message : String(e)}`)]);
  }
  if (!isObject(parsed)) throw invalid(nad, [cause('must be a JSON object')]);
  const config = parsed as NadConfig;
  const causes: StatusCause[] = [];
  if (config.type === undefined)
    causes.push(
      fieldRequired(CONFIG_FIELD, `type is required: one of ${SUPPORTED_CNI_TYPES.join(', ')}`),
    );
  else if (!(SUPPORTED_CNI_TYPES as readonly unknown[]).includes(config.type)) {
    causes.push(
      cause(
        `type ${JSON.stringify(config.type)} is not supported: Harrow creates ${SUPPORTED_CNI_TYPES.join(' or ')} networks`,
      ),
    );
  }
  if (
    config.vlan !== undefined &&
    (!Number.isInteger(config.vlan) || config.vlan < 1 || config.vlan > 4094)
  ) {
    causes.push(
      cause(`vlan ${JSON.stringify(config.vlan)}: must be a whole number from 1 to 4094`),
    );
  }
  if (
    config.ipam === undefined ||
    (isObject(config.ipam) && Object.keys(config.ipam).length === 0)
  ) {
    if (options.requireIpam !== false) {
      causes.push(fieldRequired(CONFIG_FIELD, 'ipam.subnet is required (e.g. "198.18.7.0/24")'));
    }
  } else if (!isObject(config.ipam)) {
    causes.push(cause('ipam must be an object'));
  } else {
    causes.push(...validateIpam(config.ipam));
  }
  if (causes.length > 0) throw invalid(nad, causes);
  return config;
}

function validateIpam(ipam: Record<string, unknown>): StatusCause[] {
  const causes: StatusCause[] = [];
  if (typeof ipam.subnet !== 'string')
    return [fieldRequired(CONFIG_FIELD, 'ipam.subnet is required (e.g. "198.18.7.0/24")')];
  const subnet = parseCidr(ipam.subnet);
  if (!subnet)
    return [
      cause(
        `ipam.subnet ${JSON.stringify(ipam.subnet)}: must be an IPv4 network in CIDR form with no host bits set, e.g. 198.18.7.0/24`,
      ),
    ];
  if (!cidrWithin(subnet, VM_BLOCK)) {
    return [
      cause(
        `ipam.subnet ${ipam.subnet}: must lie inside ${VM_NETWORKS.base}/${VM_NETWORKS.prefix}, the range reserved for VM networks`,
      ),
    ];
  }
  if (cidrOverlaps(subnet, POD_BLOCK)) {
    return [
      cause(
        `ipam.subnet ${ipam.subnet}: overlaps ${POD_NETWORK_CIDR}, which is reserved for the pod network`,
      ),
    ];
  }
  if (subnet.prefix > 30)
    return [
      cause(`ipam.subnet ${ipam.subnet}: must be /30 or larger to hold a gateway and a guest`),
    ];
  const addr = (field: string): number | undefined => {
    const v = ipam[field];
    if (v === undefined) return undefined;
    const n = typeof v === 'string' ? parseIpv4(v) : undefined;
    if (n === undefined) {
      causes.push(cause(`ipam.${field} ${JSON.stringify(v)}: must be an IPv4 address`));
      return undefined;
    }
    if (!isHostOf(subnet, n)) {
      causes.push(
        cause(`ipam.${field} ${String(v)}: must be a host address inside ${ipam.subnet as string}`),
      );
      return undefined;
    }
    return n;
  };
  const gateway = addr('gateway');
  const start = addr('rangeStart');
  const end = addr('rangeEnd');
  if (causes.length > 0) return causes;
  const r = defaultsOf(subnet, gateway, start, end);
  if (r.start > r.end)
    causes.push(
      cause(`ipam.rangeStart ${formatIpv4(r.start)} is after ipam.rangeEnd ${formatIpv4(r.end)}`),
    );
  else if (r.gateway >= r.start && r.gateway <= r.end) {
    causes.push(
      cause(
        `ipam.gateway ${formatIpv4(r.gateway)} lies inside the DHCP range ${formatIpv4(r.start)}–${formatIpv4(r.end)}`,
      ),
    );
  }
  return causes;
}

function defaultsOf(
  subnet: Cidr,
  gateway?: number,
  start?: number,
  end?: number,
): { gateway: number; start: number; end: number } {
  const first = subnet.network;
  const last = broadcastOf(subnet);
  const gw = gateway ?? first + 1;
  const defaultStart = gw === first + 1 ? first + 2 : first + 1;
  return {
    gateway: gw,
    start: start ?? defaultStart,
    end: end ?? (gw === last - 1 ? last - 2 : last - 1),
  };
}

/** The network a stored NAD stands for (validated; ipam required). */
export function nadNetwork(nad: NetworkAttachmentDefinition): NadNetwork {
  const config = validateNadConfig(nad, { requireIpam: true });
  const ipam = config.ipam as NadIpam;
  const subnet = parseCidr(ipam.subnet) as Cidr;
  const r = defaultsOf(
    subnet,
    ipam.gateway !== undefined ? parseIpv4(ipam.gateway) : undefined,
    ipam.rangeStart !== undefined ? parseIpv4(ipam.rangeStart) : undefined,
    ipam.rangeEnd !== undefined ? parseIpv4(ipam.rangeEnd) : undefined,
  );
  return {
    id: networkIdOf(nad),
    name: `${nad.metadata.namespace ?? 'default'}/${nad.metadata.name}`,
    cidr: formatCidr(subnet),
    gateway: formatIpv4(r.gateway),
    dhcpRange: { start: formatIpv4(r.start), end: formatIpv4(r.end) },
    ...(config.vlan !== undefined ? { vlan: config.vlan } : {}),
  };
}

/** The subnet a NAD's config names, when it names a valid one (for overlap checks against other NADs). */
export function nadSubnet(nad: NetworkAttachmentDefinition): Cidr | undefined {
  try {
    const config = validateNadConfig(nad, { requireIpam: true });
    return parseCidr((config.ipam as NadIpam).subnet);
  } catch {
    return undefined;
  }
}

/** What a table shows of a NAD's CNI config: type, VLAN and subnet ('' when not given, `<invalid config>` unreadable). */
export function nadSummary(nad: NetworkAttachmentDefinition): {
  type: string;
  vlan: string;
  subnet: string;
} {
  let config: unknown;
  try {
    config = JSON.parse(nad.spec?.config ?? '{}');
  } catch {
    return { type: '<invalid config>', vlan: '', subnet: '' };
  }
  if (!isObject(config)) return { type: '<invalid config>', vlan: '', subnet: '' };
  const ipam = isObject(config.ipam) ? config.ipam : {};
  return {
    type: typeof config.type === 'string' ? config.type : '',
    vlan: typeof config.vlan === 'number' ? String(config.vlan) : '',
    subnet: typeof ipam.subnet === 'string' ? ipam.subnet : '',
  };
}
