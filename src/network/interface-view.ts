// One view per interface of a VM — manifest MAC, platform MAC, guest MAC, IPs, lease, drift — each with its source. The
// API's tables, the CLI and the web UI all render this one view. Pure: the web UI imports it.
import type {
  GuestMacMismatch,
  NetworkStatusEntry,
  Pod,
  VirtualMachine,
  VirtualMachineInstance,
  VMIInterfaceStatus,
} from '../resources/types.ts';
import {
  canonicalMac,
  driftedGuestMac,
  instanceMac,
  platformMac,
  sameMac,
} from './mac-precedence.ts';
import { fixedAddressesOf } from './static-ip.ts';
import { networkStatusEntryFor, networkStatusOf } from './multus.ts';

export interface LeaseView {
  ip: string;
  mac?: string;
  expires?: string;
}

export interface InterfaceView {
  name: string;
  /** Position in the manifest's interfaces (for a patch). */
  index: number;
  binding: string;
  model?: string;
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
  /** `guestMac`: Harrow's field (QMP rx-filter); `guest-agent`: an agent entry KubeVirt matched to the interface;
   * `guest-agent-unmatched`: the one agent entry that matched no interface. */
  guestSource?: 'guestMac' | 'guest-agent' | 'guest-agent-unmatched';
  guestInterfaceName?: string;
  ips: string[];
  ipSource?: 'guest-agent' | 'vmi-status' | 'network-status';
  lease?: LeaseView;
  /** The guest uses a MAC other than the platform's. */
  mismatch: boolean;
  /** The observer's record of that drift, with the remedies (when the observer wrote one). */
  guestMacMismatch?: GuestMacMismatch;
  /** The manifest asks for a MAC the running instance does not have yet (a restart applies it). */
  pendingRestart: boolean;
  /** The interface's fixed address (`static-ip.harvesterhci.io/<interface>`): the VM's, else the bare VMI's. */
  fixedAddress?: string;
}

const record = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const sources = (s: VMIInterfaceStatus): string[] => (s.infoSource ?? '').split(/,\s*/);
const isGuestAgentInfo = (s: VMIInterfaceStatus): boolean => sources(s).includes('guest-agent');
const isDomainInfo = (s: VMIInterfaceStatus): boolean =>
  s.infoSource === undefined || sources(s).includes('domain');
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

const ipsOf = (s: VMIInterfaceStatus): string[] =>
  Array.isArray(s.ipAddresses) && s.ipAddresses.length > 0
    ? [...s.ipAddresses]
    : s.ipAddress
      ? [s.ipAddress]
      : [];

interface GuestSide {
  mac: string;
  source: NonNullable<InterfaceView['guestSource']>;
  interfaceName?: string;
  ips: string[];
}

/**
 * The guest's MAC for an interface, most direct source first: Harrow's `guestMac` on the interface's status entry (QMP
 * rx-filter: the NIC's MAC as the guest set it); else a guest-agent entry KubeVirt matched to the interface by MAC (so the
 * guest uses the platform MAC); else an unmatched guest-agent entry when the pairing is unambiguous. Guest interface name
 * and IPs come from the agent entry with that MAC.
 */
export function guestSideOf(
  ifaceName: string,
  statuses: VMIInterfaceStatus[],
  unpairedNames: string[],
): GuestSide | undefined {
  const own = statuses.find((s) => s.name === ifaceName);
  const loose = unmatchedGuestEntries(statuses);
  const withAgentData = (mac: string, source: GuestSide['source']): GuestSide => {
    const g =
      own && isGuestAgentInfo(own) && sameMac(own.mac, mac)
        ? own
        : loose.find((s) => sameMac(s.mac, mac));
    return {
      mac,
      source,
      ...(g?.interfaceName ? { interfaceName: g.interfaceName } : {}),
      ips: g ? ipsOf(g) : [],
    };
  };
  const declared = canonicalMac(own?.guestMac ?? own?.guestMacMismatch?.guestMac);
  if (declared !== undefined) return withAgentData(declared, 'guestMac');
  const matched = own && isGuestAgentInfo(own) ? canonicalMac(own.mac) : undefined;
  if (matched !== undefined) return withAgentData(matched, 'guest-agent');
  const only = loose.length === 1 ? canonicalMac(loose[0]?.mac) : undefined;
  if (only !== undefined && unpairedNames.length === 1 && unpairedNames[0] === ifaceName)
    return withAgentData(only, 'guest-agent-unmatched');
  return undefined;
}

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
const BINDINGS = ['bridge', 'masquerade', 'slirp', 'sriov', 'macvtap', 'passt', 'binding'] as const;

/**
 * One view per interface of the VM's manifest (or of the VMI when there is no VM), combining the VM spec, the VMI
 * status and the launcher Pod's network-status. The platform MAC and pending restart follow the one precedence rule.
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
  const entries: NetworkStatusEntry[] = networkStatusOf(pod) ?? [];
  const namespace = vm?.metadata.namespace ?? vmi?.metadata.namespace ?? 'default';
  const fixed = fixedAddressesOf((vm ?? vmi)?.metadata.annotations);

  const base = ifaces.map((iface, index) => {
    const net = networks.find((n) => n.name === iface.name);
    const network = net?.multus?.networkName ?? 'pod';
    const status = statuses.find((s) => s.name === iface.name);
    const entry = vmi
      ? networkStatusEntryFor(
          entries,
          status?.podInterfaceName,
          network === 'pod' ? undefined : network,
          namespace,
        )
      : undefined;
    const platform = vmi
      ? platformMac({ podStatus: canonicalMac(entry?.mac), vmiStatus: canonicalMac(status?.mac) })
      : undefined;
    const podInterfaceName = status?.podInterfaceName ?? entry?.interface;
    const binding = BINDINGS.find((b) => iface[b] !== undefined) ?? 'bridge';
    const running = vmiIfaces.find((i) => i.name === iface.name);
    const runningMac = instanceMac({
      spec: canonicalMac(running?.macAddress),
      podStatus: platform?.mac,
    });
    const view: InterfaceView = {
      name: iface.name,
      index,
      binding,
      ...(iface.model ? { model: iface.model } : {}),
      network,
      ...(iface.macAddress ? { specMac: canonicalMac(iface.macAddress) as string } : {}),
      ...(platform
        ? {
            platformMac: platform.mac,
            platformSource: platform.stage === 'podStatus' ? 'network-status' : 'vmi-status',
          }
        : {}),
      ...(podInterfaceName ? { podInterfaceName } : {}),
      ...(fixed.has(iface.name) ? { fixedAddress: fixed.get(iface.name) as string } : {}),
      ips: [],
      mismatch: false,
      pendingRestart:
        vmi !== undefined &&
        iface.macAddress !== undefined &&
        runningMac !== undefined &&
        !sameMac(iface.macAddress, runningMac),
    };
    return { status, entry, view };
  });

  const unpaired = base
    .filter(
      (b) => !(b.status && (isGuestAgentInfo(b.status) || typeof b.status.guestMac === 'string')),
    )
    .map((b) => b.view.name);
  return base.map(({ status, entry, view }) => {
    const record = status?.guestMacMismatch;
    const guest = vmi ? guestSideOf(view.name, statuses, unpaired) : undefined;
    const guestMac = guest?.mac;
    const mismatch =
      record !== undefined ||
      driftedGuestMac({ podStatus: view.platformMac, guest: guestMac }) !== undefined;
    // The pod's IPs are the guest's only while the guest uses the platform MAC (the lease is bound to it).
    const [ips, ipSource]: [string[], InterfaceView['ipSource']] = guest?.ips.length
      ? [guest.ips, 'guest-agent']
      : status && ipsOf(status).length > 0
        ? [ipsOf(status), isGuestAgentInfo(status) ? 'guest-agent' : 'vmi-status']
        : !mismatch && entry?.ips && entry.ips.length > 0
          ? [[...entry.ips], 'network-status']
          : [[], undefined];
    const lease = leaseOf(status);
    return {
      ...view,
      ...(guestMac ? { guestMac } : {}),
      ...(guest ? { guestSource: guest.source } : {}),
      ...(guest?.interfaceName ? { guestInterfaceName: guest.interfaceName } : {}),
      ips,
      ...(ipSource ? { ipSource } : {}),
      ...(lease ? { lease } : {}),
      mismatch,
      ...(record ? { guestMacMismatch: record } : {}),
    };
  });
}
