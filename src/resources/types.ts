// Typed views of the resources Harrow acts on (KubeVirt, Multus and Harrow's own); every other field is kept untouched.
import type { Condition, KubeObject, ObjectMeta } from './meta.ts';

export const ANNOTATION_NETWORKS = 'k8s.v1.cni.cncf.io/networks';
export const ANNOTATION_NETWORK_STATUS = 'k8s.v1.cni.cncf.io/network-status';
export const LABEL_VM_NAME = 'vm.kubevirt.io/name';
export const LABEL_CREATED_BY = 'kubevirt.io/created-by';
/** The console subresource's WebSocket subprotocol (virtctl's): the serial port's bytes in binary frames, both ways. */
export const CONSOLE_SUBPROTOCOL = 'plain.kubevirt.io';
/** The launcher pod container whose log is the guest's serial output, as KubeVirt names it. */
export const CONTAINER_GUEST_CONSOLE_LOG = 'guest-console-log';
/** Kubernetes' bearer token as a WebSocket subprotocol (browsers cannot set headers): this prefix, then base64url. */
export const BEARER_SUBPROTOCOL_PREFIX = 'base64url.bearer.authorization.k8s.io.';
/** Namespace annotation: "false" turns pool admission off, so MACs are assigned at pod creation (as Harvester does). */
export const ANNOTATION_POOL_ADMISSION = 'harrow.io/mac-pool-admission';
/** Namespace or VM annotation naming a maintenance window (JSON: {schedule, duration, timeZone}). */
export const ANNOTATION_MAINTENANCE_WINDOW = 'harrow.io/maintenance-window';
/** The MAC that KubeVirt reserves for masquerade's in-pod bridge. */
export const MASQUERADE_RESERVED_MAC = '02:00:00:00:00:00';

export type RunStrategy = 'Always' | 'Halted' | 'Manual' | 'RerunOnFailure' | 'Once';

export interface Interface {
  name: string;
  macAddress?: string;
  model?: string;
  bridge?: Record<string, unknown>;
  masquerade?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface Network {
  name: string;
  pod?: Record<string, unknown>;
  multus?: { networkName: string; default?: boolean; [field: string]: unknown };
  [field: string]: unknown;
}

export interface DomainSpec {
  cpu?: { cores?: number; sockets?: number; threads?: number; [f: string]: unknown };
  memory?: { guest?: string; [f: string]: unknown };
  resources?: {
    requests?: Record<string, string>;
    limits?: Record<string, string>;
    [f: string]: unknown;
  };
  devices: { interfaces?: Interface[]; disks?: Disk[]; [f: string]: unknown };
  [field: string]: unknown;
}

/** spec.domain.devices.disks[]: a device the guest sees; its content is the volume of the same name. */
export interface Disk {
  name: string;
  disk?: { bus?: string; [f: string]: unknown };
  cdrom?: { bus?: string; [f: string]: unknown };
  lun?: Record<string, unknown>;
  bootOrder?: number;
  serial?: string;
  [field: string]: unknown;
}

export interface CloudInitNoCloudSource {
  userData?: string;
  userDataBase64?: string;
  networkData?: string;
  networkDataBase64?: string;
  secretRef?: { name: string };
  networkDataSecretRef?: { name: string };
  [f: string]: unknown;
}

/** spec.volumes[]: where a disk's content comes from (KubeVirt's volume sources Harrow serves). */
export interface Volume {
  name: string;
  containerDisk?: { image: string; [f: string]: unknown };
  cloudInitNoCloud?: CloudInitNoCloudSource;
  emptyDisk?: { capacity: string; [f: string]: unknown };
  dataVolume?: { name: string; [f: string]: unknown };
  persistentVolumeClaim?: { claimName: string; [f: string]: unknown };
  [field: string]: unknown;
}

export interface VMISpec {
  domain: DomainSpec;
  networks?: Network[];
  volumes?: Volume[];
  nodeSelector?: Record<string, string>;
  [field: string]: unknown;
}

export interface StateChangeRequest {
  action: 'Start' | 'Stop';
  uid?: string;
  data?: Record<string, string>;
}

export interface VirtualMachineStatus {
  printableStatus?: string;
  ready?: boolean;
  created?: boolean;
  conditions?: Condition[];
  stateChangeRequests?: StateChangeRequest[];
  /** Harrow: the last connectivity check after a restart that changed MACs, as data; its condition says it in words. */
  connectivityCheck?: ConnectivityCheckStatus;
  [field: string]: unknown;
}

export interface ConnectivityCheckStatus {
  /** When the check ended (RFC 3339). */
  checkedAt: string;
  passed: boolean;
  /** One per interface whose MAC changed. */
  results: Array<ConnectivityResult & { previousMacAddress: string; network: string }>;
}

export interface VirtualMachine extends KubeObject {
  kind: 'VirtualMachine';
  spec: {
    running?: boolean;
    runStrategy?: RunStrategy;
    template: { metadata?: Partial<ObjectMeta>; spec: VMISpec };
    /** DataVolumes made with the VM and owned by it (src/resources/datavolume.ts). */
    dataVolumeTemplates?: DataVolumeTemplate[];
    [field: string]: unknown;
  };
  status?: VirtualMachineStatus;
}

export interface VMIInterfaceStatus {
  name?: string;
  mac?: string;
  podInterfaceName?: string;
  interfaceName?: string;
  ipAddress?: string;
  ipAddresses?: string[];
  infoSource?: string;
  queueCount?: number;
  linkState?: string;
  /** Harrow: the network's DHCP lease for `mac`, as its DHCP server has it. */
  lease?: { ip: string; macAddress: string; expires?: string };
  /** Harrow: the MAC the guest's NIC uses (QMP rx-filter `main-mac`), on spec interfaces. */
  guestMac?: string;
  /** Harrow: set while `guestMac` differs from `mac` — the drift as data; messages are rendered from it. */
  guestMacMismatch?: GuestMacMismatch;
  [field: string]: unknown;
}

/** Harrow: a spec interface whose guest uses a MAC other than the platform's. */
export interface GuestMacMismatch {
  /** The pod interface's MAC: what the spoof check lets through and the DHCP lease is bound to. */
  platformMac: string;
  guestMac: string;
  /** When the observer first saw the guest on this MAC (RFC 3339). */
  since: string;
  /**
   * Why they differ: the guest set its NIC's MAC itself (the platform never changes a running NIC's MAC);
   * `GuestOSConfiguration` when the same guest MAC came back after a restart, so the guest's OS sets it at every boot
   * (ifupdown `hwaddress`, a systemd .link `MACAddress=`, netplan or cloud-init `macaddress:`) and a restart does not
   * restore the platform MAC.
   */
  cause: 'GuestChangedMAC' | 'GuestOSConfiguration';
  /** With GuestOSConfiguration: the line of the guest's configuration that sets it, when the guest agent could find it. */
  setBy?: GuestMacSetting;
  /**
   * Another VM holds `guestMac` in the MAC pool, so the two clash on the network and adopting it is refused. Its name is
   * given only when it is in the same namespace (the status is readable by whoever reads this namespace).
   */
  heldBy?: { namespace: 'same'; name: string; interface: string } | { namespace: 'other' };
  /** What can be done, each one API call on the VM (subresources.harrow.io/v1). */
  remedies: GuestMacRemedy[];
}

/** A line of the guest's configuration naming its MAC (found by a read-only search through guest-exec). */
export interface GuestMacSetting {
  path: string;
  line: number;
  text: string;
}

export interface GuestMacRemedy {
  /** `restore-mac`: restart, the guest gets the platform MAC again; `adopt-guest-mac`: the guest's MAC into the manifest. */
  action: 'restore-mac' | 'adopt-guest-mac';
  /** The interface's MAC once the remedy is applied. */
  macAddress: string;
  /**
   * Whether it is offered now: adopting is refused while another VM holds the MAC; restoring by restart is not offered
   * when the guest's OS configuration sets its MAC at boot (the restart would bring the same drift back).
   */
  available: boolean;
  /** When it takes effect: at once (a restart), or at the VM's next restart. */
  takesEffect: 'now' | 'next-restart';
}

export type VMIPhase =
  'Pending' | 'Scheduling' | 'Scheduled' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface VirtualMachineInstance extends KubeObject {
  kind: 'VirtualMachineInstance';
  spec: VMISpec;
  status?: {
    phase?: VMIPhase;
    nodeName?: string;
    conditions?: Condition[];
    interfaces?: VMIInterfaceStatus[];
    guestOSInfo?: Record<string, unknown>;
    [field: string]: unknown;
  };
}

/** One entry of the Multus networks annotation on a launcher Pod (the request). */
export interface NetworkSelectionElement {
  name: string;
  namespace?: string;
  mac?: string;
  interface?: string;
  [field: string]: unknown;
}

/** One entry of the Multus network-status annotation on a launcher Pod (what was created). */
export interface NetworkStatusEntry {
  name: string;
  interface?: string;
  mac?: string;
  ips?: string[];
  default?: boolean;
  dns?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface Pod extends KubeObject {
  kind: 'Pod';
  spec: {
    nodeName?: string;
    containers: Array<{ name: string; image: string }>;
    [f: string]: unknown;
  };
  status?: { phase?: string; podIP?: string; conditions?: Condition[]; [f: string]: unknown };
}

/** NAD spec.config is the CNI JSON; Harrow reads type "bridge" with optional vlan and an ipam range. */
export interface NetworkAttachmentDefinition extends KubeObject {
  kind: 'NetworkAttachmentDefinition';
  spec: { config?: string; [f: string]: unknown };
}

export interface MacRange {
  start: string;
  end: string;
}

export interface MacPool extends KubeObject {
  kind: 'MacPool';
  spec: { ranges: MacRange[]; quarantineSeconds?: number; [f: string]: unknown };
  status?: MacPoolStatus;
}

/** One range's figures in a MacPool's status. */
export interface MacRangeStatus {
  start: string;
  end: string;
  /** Addresses the pool may hand out (multicast and reserved addresses excluded). */
  capacity: number;
  /** Addresses in use (MacAllocations InUse). */
  allocated: number;
  /** Released addresses not yet reusable. */
  quarantined: number;
}

/** Kept current by the macpool-status controller from the MacAllocations. */
export interface MacPoolStatus {
  capacity: number;
  allocated: number;
  quarantined: number;
  /** Addresses held (in use or quarantined) outside every range of every MacPool, e.g. user-chosen MACs. */
  outsideRanges: number;
  ranges: MacRangeStatus[];
  observedGeneration?: number;
}

export interface MacAllocationOwner {
  kind: string; // VirtualMachine
  namespace: string;
  name: string;
  uid?: string;
  interface: string;
}

export interface MacAllocation extends KubeObject {
  kind: 'MacAllocation';
  spec: {
    macAddress: string;
    pool: string; // '' when the MAC is outside every pool range
    owner: MacAllocationOwner;
  };
  status: {
    state: 'InUse' | 'Quarantined';
    quarantineUntil?: string;
    releasedAt?: string;
  };
}

export interface AuditRecord extends KubeObject {
  kind: 'AuditRecord';
  spec: {
    timestamp: string;
    user: string;
    verb: string; // create, update, patch, delete, start, stop, restart, guest-exec, controller action names
    resource: { kind: string; namespace?: string; name: string };
    changes?: Array<{ field: string; old?: unknown; new?: unknown }>;
    outcome: { code: number; status: 'Success' | 'Failure'; message?: string };
    connectivity?: ConnectivityResult;
    [f: string]: unknown;
  };
}

export interface ConnectivityResult {
  ok: boolean;
  interface: string;
  macAddress: string;
  lease?: { ip: string; macAddress: string } | null;
  gateway?: { ip: string; reachable: boolean };
  /**
   * On failure, the steps that failed, in the order the check takes them: `lease` (the network's DHCP server holds
   * none for the new MAC), `address` (the guest agent reports no IP on the interface), `gateway` (the guest's ping
   * to its gateway got no answer).
   */
  failed?: ConnectivityStep[];
  /** On failure, the likely cause, as far as Harrow can tell. */
  cause?: ConnectivityFailureCause;
  message: string;
}

export type ConnectivityStep = 'lease' | 'address' | 'gateway';

/**
 * Why a guest lost its network over a MAC change, most specific first:
 * - `GuestSetsMAC`: the guest's NIC uses another MAC than the platform's (its OS sets one), so the spoof check drops its
 *   frames; `setBy` names the line of its configuration when the guest agent found it;
 * - `NetworkConfigMatchesOldMAC`: the VM's cloud-init network-config still matches the interface's previous MAC, so
 *   cloud-init configured nothing for the NIC (`field`, `line`, `text` name the match);
 * - `NoAddressLeft`: the network's DHCP range is all leased to other MACs;
 * - `NoDHCPClient`: the guest has the new MAC but got no address on it, and the network had one to give: nothing in the
 *   guest runs a DHCP client on that NIC;
 * - `AgentNotConnected`: the guest agent never answered within the image's boot time, so nothing could be asked.
 */
export type ConnectivityFailureCause =
  | { reason: 'GuestSetsMAC'; guestMac: string; setBy?: GuestMacSetting }
  | {
      reason: 'NetworkConfigMatchesOldMAC';
      macAddress: string;
      field: string;
      line: number;
      text: string;
    }
  | { reason: 'NoAddressLeft' }
  | { reason: 'NoDHCPClient'; interfaceName?: string }
  | { reason: 'AgentNotConnected'; waitedSeconds: number };

export interface KubeEvent extends KubeObject {
  kind: 'Event';
  involvedObject: {
    kind: string;
    namespace?: string;
    name: string;
    uid?: string;
    apiVersion?: string;
  };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  source?: { component: string; host?: string };
}

/** A MacAllocation is named after its MAC (`52:54:00:ab:cd:ef` → `52-54-00-ab-cd-ef`), so the store's unique key is the uniqueness guarantee. */
export const macAllocationName = (mac: string): string => mac.replaceAll(':', '-');

export const VIRTUAL_MACHINE_IMAGE = 'VirtualMachineImage';

/** An image in Harrow's local image store (harrow.io/v1, cluster-scoped, read-only): what containerDisk volumes name. */
export interface VirtualMachineImage extends KubeObject {
  kind: 'VirtualMachineImage';
  spec: {
    /** Other names manifests may use (containerDisk.image), e.g. quay.io/containerdisks/debian:12. */
    aliases: string[];
    source: string;
    packages?: string[];
  };
  status: {
    phase: 'Ready';
    format: 'raw' | 'qcow2';
    virtualSizeBytes: number;
    boot: 'firmware' | 'kernel';
    contentKey?: string;
    imported: string;
  };
}

export const DATA_VOLUME = 'DataVolume';
export const PERSISTENT_VOLUME_CLAIM = 'PersistentVolumeClaim';

/** Storage a claim asks for: `resources.requests.storage` is the disk's size. */
export interface StorageRequest {
  accessModes?: string[];
  resources?: {
    requests?: { storage?: string | number; [f: string]: unknown };
    [f: string]: unknown;
  };
  volumeMode?: string;
  storageClassName?: string;
  [field: string]: unknown;
}

/** Where a DataVolume's content comes from (CDI's source kinds Harrow serves). */
export interface DataVolumeSource {
  blank?: Record<string, unknown>;
  /** `url: docker://REF`: the image REF in Harrow's local image store. */
  registry?: { url?: string; [f: string]: unknown };
  /** `url`: an image in the store under that URL as an alias. */
  http?: { url?: string; [f: string]: unknown };
  /** A clone of another claim's disk. */
  pvc?: { namespace?: string; name: string; [f: string]: unknown };
  [field: string]: unknown;
}

export interface DataVolumeSpec {
  source?: DataVolumeSource;
  /** A CDI DataSource: in Harrow, the store image of that name or alias. */
  sourceRef?: { kind?: string; name: string; namespace?: string; [f: string]: unknown };
  storage?: StorageRequest;
  pvc?: StorageRequest;
  [field: string]: unknown;
}

/** A DataVolume (cdi.kubevirt.io/v1beta1): a claim and how to fill it. */
export interface DataVolume extends KubeObject {
  kind: 'DataVolume';
  spec: DataVolumeSpec;
  status?: {
    phase?: string;
    progress?: string;
    claimName?: string;
    conditions?: Condition[];
    [field: string]: unknown;
  };
}

/** spec.dataVolumeTemplates[] of a VM. */
export interface DataVolumeTemplate {
  apiVersion?: string;
  kind?: string;
  metadata: Partial<ObjectMeta> & { name: string };
  spec: DataVolumeSpec;
  [field: string]: unknown;
}

/** A PersistentVolumeClaim (core v1): a persistent disk of the node it was first used on. */
export interface PersistentVolumeClaim extends KubeObject {
  kind: 'PersistentVolumeClaim';
  spec: StorageRequest & { dataSource?: { kind?: string; name?: string; [f: string]: unknown } };
  status?: {
    phase?: 'Pending' | 'Bound' | 'Lost';
    capacity?: { storage?: string };
    accessModes?: string[];
    conditions?: Condition[];
    [field: string]: unknown;
  };
}
