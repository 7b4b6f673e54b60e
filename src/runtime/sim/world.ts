// The sim runtime's world, the seam its parts share: networks (bridge + DHCP), pods with their ports, guests with their
// NICs and disks, and the runtime's event listeners.
import type { Cidr } from '../../ip/ipv4.ts';
import type { ConsoleHub } from '../console.ts';
import type {
  GuestSpec,
  GuestState,
  NetworkSpec,
  NicCounters,
  PodInterfaceStatus,
  RuntimeEvent,
} from '../types.ts';
import type { BootQueue } from './boot-queue.ts';
import type { SerialShell } from './busybox/serial-shell.ts';
import type { DhcpServer } from './dhcp-server.ts';
import type { SimBlockDevice, SimDisk } from './guest-disks.ts';

export interface SimNetwork {
  spec: NetworkSpec;
  cidr: Cidr;
  gateway: number;
  dhcp: DhcpServer;
  /** Pod ports on the bridge by their assigned MAC (a set: the platform, not the bridge, prevents duplicates). */
  portsByMac: Map<string, Set<PodPort>>;
  /** Guest NICs by the IPv4 address configured on them, for ARP. */
  nicsByIp: Map<number, Set<SimNic>>;
}

export interface PodPort {
  network: SimNetwork;
  podInterfaceName: string;
  /** The MAC the network plugin assigned; the spoof check lets only frames from it through. */
  mac: string;
  nic: SimNic | undefined;
}

export interface SimPod {
  uid: string;
  requestKey: string;
  ports: Map<string, PodPort>;
  statuses: PodInterfaceStatus[];
  guests: Set<string>;
}

export interface SimNic {
  guest: SimGuest;
  name: string;
  /** ethN: the kernel's name for it (net.ifnames=0; virtio NICs enumerate in device order). */
  kernelName: string;
  /** Its name inside the guest now: the kernel's, or what the guest's udev configuration renamed it to. */
  ifName: string;
  ifIndex: number;
  podInterfaceName: string;
  deviceMac: string;
  guestMac: string;
  up: boolean;
  ipv4: { ip: number; network: SimNetwork } | undefined;
  /** What the guest sent and received on it (the tap's counters, from the guest's side). */
  counters: NicCounters;
}

export interface SimGuest {
  spec: GuestSpec;
  state: GuestState;
  reason: string | undefined;
  agentConnected: boolean;
  /** Bumped on every power change so that a boot scheduled before it is ignored. */
  bootEpoch: number;
  nics: SimNic[];
  /** ttyS0: its connections and log, and the getty/login/shell that answers on it. */
  console: ConsoleHub;
  shell: SerialShell;
  /** The root disk's files: fresh at every start (an ephemeral containerDisk), kept through an in-guest reboot. */
  files: Map<string, string>;
  /** Its other disks as block devices, by /dev name. */
  devices: Map<string, SimBlockDevice>;
}

export interface SimWorld {
  /** Wall clock in epoch ms for lease times. */
  readonly clock: () => number;
  /** DHCP lease time every network hands out. */
  readonly leaseSeconds: number;
  readonly networks: Map<string, SimNetwork>;
  readonly pods: Map<string, SimPod>;
  readonly guests: Map<string, SimGuest>;
  /** Persistent disks (PersistentVolumeClaims) by id: they outlive guests. */
  readonly disks: Map<string, SimDisk>;
  readonly listeners: Set<(event: RuntimeEvent) => void>;
  readonly boots: BootQueue;
  closed: boolean;
}

export const isLive = (state: GuestState): boolean => state === 'Starting' || state === 'Running';

export const describe = (guest: SimGuest): string =>
  `${guest.spec.namespace}/${guest.spec.name} (vmi ${guest.spec.vmiUid})`;

export function emit(world: SimWorld, event: RuntimeEvent): void {
  // Delivered later, like events from a QMP socket, so a listener never runs inside the call that caused it.
  for (const listener of [...world.listeners]) queueMicrotask(() => listener(event));
}
