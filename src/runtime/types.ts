// The Runtime contract: the Multus (pod networking) and KubeVirt launcher (guest) roles. Implementations: sim/, qemu/.

/** A host-side L2 network (a bridge NetworkAttachmentDefinition, or a namespace's pod network). */
export interface NetworkSpec {
  /** Stable short id derived from the NAD's uid; names host objects (never user text). */
  id: string;
  /** `namespace/name` of the NAD, for messages. */
  name: string;
  /** IPv4 CIDR inside 198.18.0.0/15, e.g. 198.18.3.0/24. */
  cidr: string;
  /** The network's gateway (the bridge's own address), e.g. 198.18.3.1. */
  gateway: string;
  /** DHCP range handed out to guests. */
  dhcpRange: { start: string; end: string };
  vlan?: number;
}

export interface PodInterfaceRequest {
  /** The VMI interface name (spec.domain.devices.interfaces[].name). */
  name: string;
  network: NetworkSpec;
  /** Interface name inside the pod (eth0 for the pod network, pod<hash> for Multus ones). */
  podInterfaceName: string;
  /** The MAC the network plugin gives the pod interface (the platform's MAC). */
  mac: string;
  binding: 'bridge' | 'masquerade';
  /**
   * A fixed IPv4 address (a host address of the network, not its gateway): the network's DHCP server reserves it for
   * `mac` from now on, also while the pod is gone. The reservation follows the interface: it moves to `mac` from any
   * other MAC, and a lease in its way (the address leased to another MAC, `mac`'s lease on another address) is
   * released. Without it, a reservation `mac` had on this network is dropped.
   */
  ipAddress?: string;
}

export interface PodNetworkRequest {
  podUid: string;
  namespace: string;
  podName: string;
  interfaces: PodInterfaceRequest[];
}

/** What the network plugin really created (becomes the network-status annotation). */
export interface PodInterfaceStatus {
  name: string; // VMI interface name
  networkName: string; // namespace/name of the network
  podInterfaceName: string;
  mac: string;
  ips?: string[];
}

export interface GuestNic {
  /** VMI interface name. */
  name: string;
  /** The MAC the guest device is given (virtio-net-pci mac=). */
  mac: string;
  podInterfaceName: string;
  networkId: string;
}

/** Where a guest disk's content comes from (KubeVirt's volume kinds, resolved by the launcher). */
export type GuestDiskSource =
  /** containerDisk: a copy-on-write overlay over a store image, thrown away when the guest ends. */
  | { type: 'containerDisk'; image: string; file: string; format: 'raw' | 'qcow2' }
  /** cloudInitNoCloud: a `cidata` seed disk. */
  | { type: 'cloudInitNoCloud'; userData: string; metaData: string; networkData?: string }
  /** emptyDisk: a blank disk of `capacityBytes`, thrown away when the guest ends. */
  | { type: 'emptyDisk'; capacityBytes: number }
  /** dataVolume / persistentVolumeClaim: the persistent disk `diskId` (see Runtime.createDisk), kept after the guest. */
  | { type: 'persistentVolumeClaim'; diskId: string };

/** What a new persistent disk holds: nothing, a copy of a store image, or a copy of another persistent disk here. */
export type PersistentDiskContent =
  | { type: 'blank' }
  | { type: 'image'; image: string; file: string; format: 'raw' | 'qcow2' }
  | { type: 'disk'; diskId: string };

/** A persistent disk (a PersistentVolumeClaim's): its own file on this host, named by the claim's uid. */
export interface PersistentDiskSpec {
  /** The claim's uid. */
  id: string;
  /** At least this size; an image larger than it keeps its own size. */
  capacityBytes: number;
  content: PersistentDiskContent;
}

export interface GuestDisk {
  /** The disk's name (spec.domain.devices.disks[].name). */
  name: string;
  serial?: string;
  /** Boot order among bootable devices (1 first); undefined: not in the boot order. */
  bootOrder?: number;
  source: GuestDiskSource;
}

/** How the guest boots when it has disks: the host cloud kernel with root on the first disk, or the disk's own loader. */
export type GuestBoot =
  { type: 'firmware' } | { type: 'kernel'; kernel: string; initrd: string; append: string };

export interface GuestSpec {
  vmiUid: string;
  podUid: string;
  namespace: string;
  name: string;
  cpus: number;
  memoryMiB: number;
  nics: GuestNic[];
  /** Disks in device order (the boot disk first); none: the runtime's own boot image (busybox initramfs). */
  disks?: GuestDisk[];
  /** With disks: how the guest boots (default firmware). */
  boot?: GuestBoot;
}

export interface GuestNicObservation {
  name: string;
  /** The device's MAC as the platform configured it. */
  deviceMac: string;
  /** The MAC the guest currently uses (QMP query-rx-filter main-mac). */
  guestMac: string;
}

/** A network device's counters: bytes, packets, errors and drops, received (rx) and transmitted (tx). */
export interface NicCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/**
 * A guest NIC's counters from the guest's side, as libvirt reports a domain interface (and KubeVirt exports it):
 * received is what reached the guest, transmitted what the guest sent. They start at zero with the NIC's device.
 */
export interface GuestNicStatistics extends NicCounters {
  /** VMI interface name. */
  name: string;
}

export interface GuestAgentInterface {
  interfaceName: string;
  mac: string;
  ipAddresses: string[];
}

export type GuestState = 'Starting' | 'Running' | 'Stopped' | 'Failed';

export interface GuestObservation {
  state: GuestState;
  /** Why the guest failed or stopped, when known. */
  reason?: string;
  nics: GuestNicObservation[];
  /** undefined while the guest agent is not connected. */
  agent?: { interfaces: GuestAgentInterface[]; osInfo?: Record<string, unknown> };
}

export interface Lease {
  mac: string;
  ip: string;
  /** ISO time; undefined for an infinite lease. */
  expires?: string;
  hostname?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type RuntimeEvent =
  | { type: 'guest-changed'; vmiUid: string } // e.g. NIC_RX_FILTER_CHANGED, agent connected, IP acquired
  | { type: 'guest-stopped'; vmiUid: string; reason: string }
  | { type: 'guest-failed'; vmiUid: string; reason: string };

export interface Inventory {
  networks: string[]; // network ids
  pods: string[]; // pod uids
  guests: string[]; // vmi uids
}

/** What a console connection hears: the guest's serial output, and the end of the connection with the reason. */
export interface ConsoleHandlers {
  onData(chunk: Buffer): void;
  /** The connection ended from the runtime's side (guest stopped, replaced by a newer connection, runtime closed). */
  onClose(reason: string): void;
}

export interface ConsoleOptions {
  /** Output only: does not take the guest's input away from the current interactive connection. */
  readOnly?: boolean;
}

/** One connection to a guest's serial port. */
export interface ConsoleConnection {
  readonly readOnly: boolean;
  /** Sends keystrokes to the guest; ignored once closed, replaced or when read-only. */
  write(data: Buffer | string): void;
  close(): void;
}

export interface Runtime {
  readonly name: 'sim' | 'qemu';
  /** Creates the bridge and DHCP of a network; idempotent. */
  ensureNetwork(network: NetworkSpec): Promise<void>;
  removeNetwork(networkId: string): Promise<void>;
  /** The CNI role: creates the pod and its interfaces with the requested MACs; idempotent for the same pod. */
  setupPod(request: PodNetworkRequest): Promise<PodInterfaceStatus[]>;
  teardownPod(podUid: string): Promise<void>;
  /** The launcher role: starts the guest in its pod; resolves once the guest process runs (not when it has booted). */
  startGuest(spec: GuestSpec): Promise<void>;
  /** Clean power-down, then kill after graceMs. Idempotent. */
  stopGuest(vmiUid: string, options?: { graceMs?: number }): Promise<void>;
  /** undefined when the runtime has no such guest. */
  observe(vmiUid: string): Promise<GuestObservation | undefined>;
  /** The traffic counters of a running guest's NICs, without asking the guest; undefined when none runs here. */
  nicStatistics(vmiUid: string): Promise<GuestNicStatistics[] | undefined>;
  /** Whether this runtime has a guest for the VMI (in any state), without asking the guest anything. */
  hasGuest(vmiUid: string): boolean;
  /** Runs a command in the guest through its agent (guest-exec). */
  exec(vmiUid: string, argv: string[], options?: { timeoutMs?: number }): Promise<ExecResult>;
  /**
   * Attaches to the guest's serial port (ttyS0). Output goes to every connection; an interactive connection replaces the
   * previous interactive one (which is closed with the reason), as KubeVirt allows one console connection per VMI.
   */
  openConsole(
    vmiUid: string,
    handlers: ConsoleHandlers,
    options?: ConsoleOptions,
  ): Promise<ConsoleConnection>;
  /** The newest serial output kept for the guest (bounded, see CONSOLE_LOG_BYTES); undefined when there is no such guest. */
  consoleLog(vmiUid: string): Promise<string | undefined>;
  /**
   * The network's live DHCP leases. With `macs` (lowercase), at least the leases of those MACs: a per-guest lookup that a
   * runtime may answer without reading every lease (the sim looks them up by MAC; others may return them all).
   */
  leases(networkId: string, macs?: readonly string[]): Promise<Lease[]>;
  /**
   * Gives back the network's fixed addresses (PodInterfaceRequest.ipAddress) that are not in `keep` — no VM holds them
   * any more: their reservations go and their leases are released, so the network may hand them out again. Resolves
   * with the addresses given back. A network not on this host has none.
   */
  pruneFixedAddresses(networkId: string, keep: readonly string[]): Promise<string[]>;
  /**
   * Makes a persistent disk unless one with its id exists (idempotent; a half-made one never counts); resolves with its
   * size. A copy of another disk is read as it is now, also while a guest writes it (crash-consistent).
   */
  createDisk(spec: PersistentDiskSpec): Promise<{ capacityBytes: number }>;
  /** Deletes a persistent disk; no error when there is none. A guest using it keeps its open file until it stops. */
  deleteDisk(id: string): Promise<void>;
  /** The ids of the persistent disks on this host. */
  listDisks(): Promise<string[]>;
  subscribe(listener: (event: RuntimeEvent) => void): () => void;
  /** What exists on this host, to find orphans after a restart. */
  inventory(): Promise<Inventory>;
  close(): Promise<void>;
}
