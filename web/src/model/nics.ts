// What the UI shows per NIC: the platform's MAC (pod network-status), the guest's, IPs, each with its source, and drift.
import type { Condition } from '../../../src/resources/meta.ts';
import {
  ANNOTATION_NETWORK_STATUS,
  type NetworkStatusEntry,
  type Pod,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VMIInterfaceStatus,
} from '../../../src/resources/types.ts';

export const POD_NETWORK = 'Pod network';

export interface NicView {
  /** The interface name in the manifest (spec.template.spec.domain.devices.interfaces[].name). */
  name: string;
  index: number;
  /** The network it is attached to: a NetworkAttachmentDefinition name, or the pod network. */
  network: string;
  binding: string;
  model: string | undefined;
  /** What the manifest asks for (may be absent before admission assigns one). */
  specMac: string | undefined;
  /** What the platform gave the pod interface, as Harvester shows it. */
  platformMac: string | undefined;
  platformSource: string | undefined;
  /** What the guest itself uses. */
  guestMac: string | undefined;
  guestInterfaceName: string | undefined;
  guestSource: string | undefined;
  ips: string[];
  ipSource: string | undefined;
  /** The guest uses a MAC other than the platform's. */
  drift: boolean;
  driftMessage: string | undefined;
  /** The manifest names a MAC the running pod does not have yet: it applies on restart. */
  pendingRestart: boolean;
}

const norm = (mac: string | undefined): string | undefined => (mac ? mac.toLowerCase() : undefined);
const ZERO_MAC = '00:00:00:00:00:00';
const MAC_IN_TEXT = /\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b/gi;

/** Parses the Multus network-status annotation of a launcher pod; a malformed one reads as empty. */
export function networkStatusOf(pod: Pod | undefined): NetworkStatusEntry[] {
  const raw = pod?.metadata.annotations?.[ANNOTATION_NETWORK_STATUS];
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed)
      ? (parsed.filter((e) => typeof e === 'object' && e !== null) as NetworkStatusEntry[])
      : [];
  } catch {
    return [];
  }
}

export const conditionOf = (conds: Condition[] | undefined, type: string): Condition | undefined =>
  conds?.find((c) => c.type === type);

export const isTrue = (conds: Condition[] | undefined, type: string): boolean =>
  conditionOf(conds, type)?.status === 'True';

/** The launcher pod of a VM: the newest pod labelled with its name that is not being deleted. */
export function launcherPodOf(pods: Pod[], vmName: string): Pod | undefined {
  const mine = pods.filter(
    (p) => p.metadata.labels?.['vm.kubevirt.io/name'] === vmName && !p.metadata.deletionTimestamp,
  );
  mine.sort((a, b) =>
    (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
  );
  return mine[0];
}

function statusEntryFor(
  entries: NetworkStatusEntry[],
  namespace: string,
  networkName: string | undefined,
  podInterfaceName: string | undefined,
): NetworkStatusEntry | undefined {
  if (podInterfaceName) {
    const byIface = entries.find((e) => e.interface === podInterfaceName);
    if (byIface) return byIface;
  }
  if (networkName === undefined) return entries.find((e) => e.default === true);
  const qualified = networkName.includes('/') ? networkName : `${namespace}/${networkName}`;
  return entries.find((e) => e.name === qualified || e.name === networkName);
}

const fromGuestAgent = (s: VMIInterfaceStatus): boolean =>
  (s.infoSource ?? '').includes('guest-agent');
const fromDomain = (s: VMIInterfaceStatus): boolean => (s.infoSource ?? '').includes('domain');

/**
 * Derives one NicView per interface of the VM's manifest. KubeVirt lists a guest interface whose MAC matches no
 * spec interface as its own guest-agent-only entry; such entries are paired, in order, with spec interfaces that
 * got no guest report of their own — that is the drifted NIC.
 */
export function nicViews(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  pod: Pod | undefined,
): NicView[] {
  const namespace = vm.metadata.namespace ?? 'default';
  const spec = vm.spec?.template?.spec;
  const ifaces = spec?.domain?.devices?.interfaces ?? [];
  const networks = spec?.networks ?? [];
  const statuses = vmi?.status?.interfaces ?? [];
  const entries = networkStatusOf(pod);
  const specNames = new Set(ifaces.map((i) => i.name));
  const orphans = statuses.filter(
    (s) =>
      (s.name === undefined || !specNames.has(s.name)) &&
      fromGuestAgent(s) &&
      !fromDomain(s) &&
      s.interfaceName !== 'lo' &&
      norm(s.mac) !== ZERO_MAC,
  );
  const mismatch = conditionOf(vmi?.status?.conditions, 'GuestMACMismatch');
  const mismatchTrue = mismatch?.status === 'True';
  const podName = pod?.metadata.name;

  return ifaces.map((iface, index) => {
    const net = networks.find((n) => n.name === iface.name);
    const networkName = net?.multus?.networkName;
    const status = statuses.find((s) => s.name === iface.name);
    const entry = pod
      ? statusEntryFor(entries, namespace, networkName, status?.podInterfaceName)
      : undefined;

    let platformMac = norm(entry?.mac);
    let platformSource: string | undefined;
    if (platformMac) {
      platformSource = `Pod ${podName} network-status${entry?.interface ? `, interface ${entry.interface}` : ''}`;
    } else if (status?.mac && vmi) {
      platformMac = norm(status.mac);
      platformSource = `VMI ${vmi.metadata.name} status (domain)`;
    }

    let guestMac: string | undefined;
    let guestInterfaceName: string | undefined;
    let guestSource: string | undefined;
    let ips: string[] = [];
    let ipSource: string | undefined;
    const guestMacField =
      typeof status?.['guestMac'] === 'string' ? (status['guestMac'] as string) : undefined;
    if (status && guestMacField) {
      guestMac = norm(guestMacField);
      // When the guest moved away from the platform MAC, the agent's report of it is the separate entry with that MAC.
      const report = fromGuestAgent(status)
        ? status
        : orphans.find((o) => norm(o.mac) === guestMac);
      guestInterfaceName = report?.interfaceName;
      guestSource = `Guest NIC as QEMU sees it (VMI status guestMac${report ? '; guest agent agrees' : ''})`;
      if (report && report !== status) {
        ips = report.ipAddresses ?? (report.ipAddress ? [report.ipAddress] : []);
        if (ips.length > 0) ipSource = 'Guest agent';
      }
    } else if (status && fromGuestAgent(status)) {
      guestMac = norm(status.mac);
      guestInterfaceName = status.interfaceName;
      guestSource = `Guest agent (${status.infoSource})`;
    } else if (status || vmi) {
      const orphan = orphans.shift();
      if (orphan) {
        guestMac = norm(orphan.mac);
        guestInterfaceName = orphan.interfaceName;
        guestSource = `Guest agent (${orphan.infoSource ?? 'guest-agent'}, matches no platform MAC)`;
        ips = orphan.ipAddresses ?? (orphan.ipAddress ? [orphan.ipAddress] : []);
        if (ips.length > 0) ipSource = 'Guest agent';
      }
    }
    if (ips.length === 0 && status && (status.ipAddresses?.length || status.ipAddress)) {
      ips = status.ipAddresses ?? [status.ipAddress as string];
      ipSource = fromGuestAgent(status)
        ? 'Guest agent'
        : `VMI status (${status.infoSource ?? 'domain'})`;
    }
    if (ips.length === 0 && entry?.ips && entry.ips.length > 0) {
      ips = entry.ips;
      ipSource = `Pod ${podName} network-status`;
    }

    // The condition is the observer's word: trust it even where the status fields above were not enough to pair.
    const conditionNamesMe =
      mismatchTrue && (ifaces.length === 1 || (mismatch?.message ?? '').includes(iface.name));
    if (conditionNamesMe && !guestMac && mismatch?.message) {
      const macs = (mismatch.message.match(MAC_IN_TEXT) ?? []).map((m) => m.toLowerCase());
      guestMac = macs.find((m) => m !== platformMac);
      if (guestMac) guestSource = 'GuestMACMismatch condition';
    }
    const drift = Boolean(
      (guestMac && platformMac && guestMac !== platformMac) || conditionNamesMe,
    );

    const specMac = norm(iface.macAddress);
    return {
      name: iface.name,
      index,
      network: networkName ?? (net?.pod !== undefined || !net ? POD_NETWORK : net.name),
      binding: iface.masquerade !== undefined ? 'masquerade' : 'bridge',
      model: iface.model,
      specMac,
      platformMac,
      platformSource,
      guestMac,
      guestInterfaceName,
      guestSource,
      ips,
      ipSource,
      drift,
      driftMessage: conditionNamesMe ? mismatch?.message : undefined,
      pendingRestart: Boolean(specMac && platformMac && specMac !== platformMac),
    };
  });
}
