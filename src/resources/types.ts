// Typed views of the resources Harrow acts on (KubeVirt, Multus and Harrow's own); every other field is kept untouched.
import type { Static } from 'typebox';
import { EventSchema, NodeSchema, PodSchema } from './schema/core.ts';
import {
  AuditRecordSchema,
  MacAllocationOwnerSchema,
  MacAllocationSchema,
  MacPoolSchema,
  MacPoolStatusSchema,
  MacRangeSchema,
  MacRangeStatusSchema,
  VirtualMachineImageSchema,
} from './schema/harrow.ts';
import {
  ConnectivityCheckStatusSchema,
  ConnectivityFailureCauseSchema,
  ConnectivityResultSchema,
  ConnectivityStepSchema,
  DiskSchema,
  DomainSchema,
  GuestMacMismatchSchema,
  GuestMacRemedySchema,
  GuestMacSettingSchema,
  InterfaceSchema,
  NetworkSchema,
  StateChangeRequestSchema,
  VirtualMachineInstanceSchema,
  VirtualMachineSchema,
  VirtualMachineStatusSchema,
  VMIInterfaceStatusSchema,
  VmiSpecSchema,
  VolumeSchema,
} from './schema/kubevirt.ts';
import { NetworkAttachmentDefinitionSchema } from './schema/network-attachment.ts';
import {
  DataVolumeSchema,
  DataVolumeSourceSchema,
  DataVolumeSpecSchema,
  DataVolumeTemplateSchema,
  PersistentVolumeClaimSchema,
  StorageRequestSchema,
} from './schema/storage.ts';

export const ANNOTATION_NETWORKS = 'k8s.v1.cni.cncf.io/networks';
export const ANNOTATION_NETWORK_STATUS = 'k8s.v1.cni.cncf.io/network-status';
/** Harvester's fixed address of a VM interface: `static-ip.harvesterhci.io/<interface name>: <IPv4 address>`. */
export const ANNOTATION_STATIC_IP_PREFIX = 'static-ip.harvesterhci.io/';
export const LABEL_VM_NAME = 'vm.kubevirt.io/name';
export const LABEL_CREATED_BY = 'kubevirt.io/created-by';
/**
 * VMI label the observer keeps at "true" while its GuestMACMismatch condition is True (absent otherwise), so a drift
 * scan is a label-selected list rather than a read of every VMI.
 */
export const LABEL_GUEST_MAC_MISMATCH = 'harrow.io/guest-mac-mismatch';
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

export type { RunStrategy, VMIPhase } from './schema/kubevirt.ts';

// The served kinds' types are their schemas' (src/resources/schema/): one description per kind for the types, the
// unknown-field check and the OpenAPI documents.
export type Interface = Static<typeof InterfaceSchema>;
export type Network = Static<typeof NetworkSchema>;
export type Disk = Static<typeof DiskSchema>;
export type Volume = Static<typeof VolumeSchema>;
export type CloudInitNoCloudSource = NonNullable<Volume['cloudInitNoCloud']>;
export type DomainSpec = Static<typeof DomainSchema>;
export type VMISpec = Static<typeof VmiSpecSchema>;
export type StateChangeRequest = Static<typeof StateChangeRequestSchema>;
export type VirtualMachineStatus = Static<typeof VirtualMachineStatusSchema>;
export type ConnectivityCheckStatus = Static<typeof ConnectivityCheckStatusSchema>;
export type VirtualMachine = Static<typeof VirtualMachineSchema>;
export type VMIInterfaceStatus = Static<typeof VMIInterfaceStatusSchema>;
export type GuestMacMismatch = Static<typeof GuestMacMismatchSchema>;
export type GuestMacSetting = Static<typeof GuestMacSettingSchema>;
export type GuestMacRemedy = Static<typeof GuestMacRemedySchema>;
export type VirtualMachineInstance = Static<typeof VirtualMachineInstanceSchema>;

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

export type Pod = Static<typeof PodSchema>;
export type NetworkAttachmentDefinition = Static<typeof NetworkAttachmentDefinitionSchema>;
export type MacRange = Static<typeof MacRangeSchema>;
export type MacPool = Static<typeof MacPoolSchema>;
export type MacRangeStatus = Static<typeof MacRangeStatusSchema>;
export type MacPoolStatus = Static<typeof MacPoolStatusSchema>;
export type MacAllocationOwner = Static<typeof MacAllocationOwnerSchema>;
export type MacAllocation = Static<typeof MacAllocationSchema>;
export type AuditRecord = Static<typeof AuditRecordSchema>;
export type ConnectivityResult = Static<typeof ConnectivityResultSchema>;
export type ConnectivityStep = Static<typeof ConnectivityStepSchema>;
export type ConnectivityFailureCause = Static<typeof ConnectivityFailureCauseSchema>;
export type KubeEvent = Static<typeof EventSchema>;
/** A Kubernetes Node as a Harrow agent registers it. */
export type NodeObject = Static<typeof NodeSchema>;

/** A MacAllocation is named after its MAC (`52:54:00:ab:cd:ef` → `52-54-00-ab-cd-ef`), so the store's unique key is the uniqueness guarantee. */
export const macAllocationName = (mac: string): string => mac.replaceAll(':', '-');

export const VIRTUAL_MACHINE_IMAGE = 'VirtualMachineImage';

/** An image in Harrow's local image store (harrow.io/v1, cluster-scoped, read-only): what containerDisk volumes name. */
export type VirtualMachineImage = Static<typeof VirtualMachineImageSchema>;

export const DATA_VOLUME = 'DataVolume';
export const PERSISTENT_VOLUME_CLAIM = 'PersistentVolumeClaim';

export type StorageRequest = Static<typeof StorageRequestSchema>;
export type DataVolumeSource = Static<typeof DataVolumeSourceSchema>;
export type DataVolumeSpec = Static<typeof DataVolumeSpecSchema>;
export type DataVolume = Static<typeof DataVolumeSchema>;
export type DataVolumeTemplate = Static<typeof DataVolumeTemplateSchema>;
export type PersistentVolumeClaim = Static<typeof PersistentVolumeClaimSchema>;
