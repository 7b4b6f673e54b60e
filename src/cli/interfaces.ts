// Per-interface view of a VM: manifest MAC, platform MAC (pod network-status), guest MAC, IPs and drift — pure precedence rules.
import { parseMac } from '../mac/mac.ts';
import type { Condition } from '../resources/meta.ts';
import {
  ANNOTATION_NETWORK_STATUS,
  type NetworkStatusEntry,
  type Pod,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VMIInterfaceStatus,
} from '../resources/types.ts';

export interface LeaseView {
  ip: string;
  mac?: string;
  expires?: string;
}

export interface InterfaceView {
  name: string;
  binding: string;
  /** `pod` for the pod network, else the Multus network name. */
  network: string;
  /** What the manifest asks for (used from the next start on). */
  specMac?: string;
  /** The pod interface's MAC: what the platform shows and what the spoof check allows. */
  platformMac?: string;
  platformSource?: 'network-status' | 'vmi-status';
  podInterfaceName?: string;
  /** What the guest really uses, when known. */
  guestMac?: string;
  guestInterfaceName?: string;
  ips: string[];
  lease?: LeaseView;
  /** The guest uses a MAC other than the platform's. */
  mismatch: boolean;
  /** The manifest asks for a MAC the running instance does not have yet (a restart applies it). */
  pendingRestart: boolean;
}

const record = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Canonical form when `text` is a MAC in any notation; the text as it is otherwise. */
export function canonicalMac(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return parseMac(text);
  } catch {
    return text.toLowerCase();
  }
}

export const sameMac = (a: string | undefined, b: string | undefined): boolean =>
  a !== undefined && b !== undefined && canonicalMac(a) === canonicalMac(b);

/** The pod's Multus network-status entries; [] when absent or unreadable. */
export function networkStatusOf(pod: Pod | undefined): NetworkStatusEntry[] {
  const raw = pod?.metadata.annotations?.[ANNOTATION_NETWORK_STATUS];
  if (raw === undefined) return [];
  try {
    const v: unknown = JSON.parse(raw);
    return Array.isArray(v)
      ? v.filter((e): e is NetworkStatusEntry => record(e) && typeof e.name === 'string')
      : [];
  } catch {
    return [];
  }
}

const isGuestAgentInfo = (s: VMIInterfaceStatus): boolean =>
  (s.infoSource ?? '').split(/,\s*/).includes('guest-agent');
const isDomainInfo = (s: VMIInterfaceStatus): boolean => {
  const src = s.infoSource;
  return src === undefined || src.split(/,\s*/).includes('domain');
};
const ZERO = '00:00:00:00:00:00';
/** Guest-agent entries that matched no platform interface (KubeVirt lists them on their own), loopback excluded. */
const unmatchedGuestEntries = (statuses: VMIInterfaceStatus[]): VMIInterfaceStatus[] =>
  statuses.filter(
    (s) =>
      isGuestAgentInfo(s) &&
      !isDomainInfo(s) &&
      s.interfaceName !== 'lo' &&
      s.mac !== undefined &&
      canonicalMac(s.mac) !== ZERO,
  );

/**
 * The network-status entry of one interface: by the pod interface name the VMI reports, else by network name
 * (Multus writes `namespace/name`), else the default entry for the pod network.
 */
export function platformEntryFor(
  entries: NetworkStatusEntry[],
  podInterfaceName: string | undefined,
  network: string,
  namespace: string,
): NetworkStatusEntry | undefined {
  if (podInterfaceName !== undefined) {
    const byIface = entries.find((e) => e.interface === podInterfaceName);
    if (byIface) return byIface;
  }
  if (network === 'pod') return entries.find((e) => e.default === true);
  const qualified = network.includes('/') ? network : `${namespace}/${network}`;
  return entries.find((e) => e.name === qualified || e.name === network);
}

/**
 * The guest's MAC for an interface, most direct source first: Harrow's `guestMac` on the interface's status entry (QMP
 * rx-filter: the NIC's MAC as the guest set it); else a guest-agent entry KubeVirt matched to the interface by MAC (so the
 * guest uses the platform MAC); else an unmatched guest-agent entry when the pairing is unambiguous; else the MAC the
 * GuestMACMismatch message names for the interface. Guest interface name and IPs come from the agent entry with that MAC.
 */
export function guestMacFor(
  ifaceName: string,
  platformMac: string | undefined,
  statuses: VMIInterfaceStatus[],
  unpairedNames: string[],
  mismatch: Condition | undefined,
): { mac: string; interfaceName?: string; ips: string[] } | undefined {
  const own = statuses.find((s) => s.name === ifaceName);
  const loose = unmatchedGuestEntries(statuses);
  const withAgentData = (mac: string): { mac: string; interfaceName?: string; ips: string[] } => {
    if (own && isGuestAgentInfo(own) && sameMac(own.mac, mac)) {
      return {
        mac,
        ...(own.interfaceName ? { interfaceName: own.interfaceName } : {}),
        ips: ipsOf(own),
      };
    }
    const g = loose.find((s) => sameMac(s.mac, mac));
    return {
      mac,
      ...(g?.interfaceName ? { interfaceName: g.interfaceName } : {}),
      ips: g ? ipsOf(g) : [],
    };
  };
  if (typeof own?.guestMac === 'string' && own.guestMac !== '')
    return withAgentData(canonicalMac(own.guestMac)!);
  if (own && isGuestAgentInfo(own) && own.mac !== undefined)
    return withAgentData(canonicalMac(own.mac)!);
  if (loose.length === 1 && unpairedNames.length === 1 && unpairedNames[0] === ifaceName)
    return withAgentData(canonicalMac(loose[0]!.mac)!);
  const fromMessage =
    mismatch?.status === 'True'
      ? macFromMismatchMessage(
          mismatch.message ?? '',
          ifaceName,
          platformMac,
          unpairedNames.length === 1,
        )
      : undefined;
  return fromMessage !== undefined ? withAgentData(fromMessage) : undefined;
}

const MAC_TOKEN = /\b[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}\b/g;

/**
 * The guest MAC named in a GuestMACMismatch message for `ifaceName`: the first MAC other than the platform's in the
 * clause that names the interface (clauses end at `;`, a newline or the next `interface NAME:`), or anywhere when only
 * one interface can drift.
 */
export function macFromMismatchMessage(
  message: string,
  ifaceName: string,
  platformMac: string | undefined,
  onlyCandidate: boolean,
): string | undefined {
  // Harrow's observer writes one `interface NAME: …` sentence group per interface; others may use `;` or lines.
  const clauses = message.split(/[;\n]|(?=\binterface [\w.-]+:)/);
  const nameRe = new RegExp(
    `(^|[^\\w-])${ifaceName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^\\w-]|$)`,
  );
  const relevant = clauses.filter((c) => nameRe.test(c));
  const pool = relevant.length > 0 ? relevant : onlyCandidate ? clauses : [];
  for (const clause of pool) {
    for (const m of clause.match(MAC_TOKEN) ?? []) {
      if (!sameMac(m, platformMac)) return canonicalMac(m);
    }
  }
  return undefined;
}

const ipsOf = (s: VMIInterfaceStatus): string[] =>
  Array.isArray(s.ipAddresses) && s.ipAddresses.length > 0
    ? [...s.ipAddresses]
    : s.ipAddress
      ? [s.ipAddress]
      : [];

function leaseOf(s: VMIInterfaceStatus | undefined): LeaseView | undefined {
  const l: unknown = s?.lease;
  if (!record(l) || typeof l.ip !== 'string') return undefined;
  return {
    ip: l.ip,
    ...(typeof l.macAddress === 'string' ? { mac: l.macAddress } : {}),
    ...(typeof l.expires === 'string' ? { expires: l.expires } : {}),
  };
}

// KubeVirt's binding fields; an interface that names none is a bridge.
const BINDINGS = ['bridge', 'masquerade', 'slirp', 'sriov', 'macvtap', 'passt', 'binding'];

export const conditionOf = (
  conditions: Condition[] | undefined,
  type: string,
): Condition | undefined => conditions?.find((c) => c.type === type);

/**
 * One view per interface of the VM's manifest (or of the VMI when there is no VM), combining the VM spec, the VMI
 * status and the launcher Pod's network-status.
 */
export function interfaceViews(
  vm: VirtualMachine | undefined,
  vmi: VirtualMachineInstance | undefined,
  pod: Pod | undefined,
): InterfaceView[] {
  const spec = vm?.spec?.template?.spec ?? vmi?.spec;
  const ifaces = spec?.domain?.devices?.interfaces ?? [];
  const networks = spec?.networks ?? [];
  const vmiIfaces = vmi?.spec?.domain?.devices?.interfaces ?? [];
  const statuses = vmi?.status?.interfaces ?? [];
  const entries = networkStatusOf(pod);
  const namespace = vm?.metadata.namespace ?? vmi?.metadata.namespace ?? 'default';
  const mismatch = conditionOf(vmi?.status?.conditions, 'GuestMACMismatch');

  const base = ifaces.map((iface) => {
    const net = networks.find((n) => n.name === iface.name);
    const network = net?.multus?.networkName ?? 'pod';
    const status = statuses.find((s) => s.name === iface.name);
    const entry = vmi
      ? platformEntryFor(entries, status?.podInterfaceName, network, namespace)
      : undefined;
    const platformMac = canonicalMac(entry?.mac) ?? (vmi ? canonicalMac(status?.mac) : undefined);
    const source: InterfaceView['platformSource'] | undefined =
      entry?.mac !== undefined
        ? 'network-status'
        : vmi && status?.mac !== undefined
          ? 'vmi-status'
          : undefined;
    const podInterfaceName = status?.podInterfaceName ?? entry?.interface;
    const binding = BINDINGS.find((b) => iface[b] !== undefined) ?? 'bridge';
    const running = vmiIfaces.find((i) => i.name === iface.name);
    const instanceMac = canonicalMac(running?.macAddress) ?? platformMac;
    return {
      iface,
      status,
      view: {
        name: iface.name,
        binding,
        network,
        ...(iface.macAddress ? { specMac: canonicalMac(iface.macAddress)! } : {}),
        ...(platformMac ? { platformMac } : {}),
        ...(source ? { platformSource: source } : {}),
        ...(podInterfaceName ? { podInterfaceName } : {}),
        ips: [] as string[],
        mismatch: false,
        pendingRestart:
          vmi !== undefined &&
          iface.macAddress !== undefined &&
          instanceMac !== undefined &&
          !sameMac(iface.macAddress, instanceMac),
      } satisfies InterfaceView as InterfaceView,
    };
  });

  const unpaired = base
    .filter(
      (b) => !(b.status && (isGuestAgentInfo(b.status) || typeof b.status.guestMac === 'string')),
    )
    .map((b) => b.view.name);
  return base.map(({ status, view }) => {
    const guest = vmi
      ? guestMacFor(view.name, view.platformMac, statuses, unpaired, mismatch)
      : undefined;
    const ips = guest?.ips.length ? guest.ips : status ? ipsOf(status) : [];
    const lease = leaseOf(status);
    return {
      ...view,
      ...(guest ? { guestMac: guest.mac } : {}),
      ...(guest?.interfaceName ? { guestInterfaceName: guest.interfaceName } : {}),
      ips,
      ...(lease ? { lease } : {}),
      mismatch:
        guest !== undefined &&
        view.platformMac !== undefined &&
        !sameMac(guest.mac, view.platformMac),
    };
  });
}
