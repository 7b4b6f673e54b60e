// Every served kind's one schema, by kind: the OpenAPI documents and the unknown-field check read this table.
import type { TSchema } from 'typebox';
import { VirtualMachineCloneSchema } from './clone.ts';
import { EventSchema, NamespaceSchema, NodeSchema, PodSchema } from './core.ts';
import {
  ApiTokenSchema,
  AuditRecordSchema,
  MacAllocationSchema,
  MacPoolSchema,
  VirtualMachineImageSchema,
} from './harrow.ts';
import { VirtualMachineInstanceSchema, VirtualMachineSchema } from './kubevirt.ts';
import { NetworkAttachmentDefinitionSchema } from './network-attachment.ts';
import { DataVolumeSchema, PersistentVolumeClaimSchema } from './storage.ts';

export const KIND_SCHEMAS: Readonly<Record<string, TSchema>> = {
  VirtualMachine: VirtualMachineSchema,
  VirtualMachineInstance: VirtualMachineInstanceSchema,
  VirtualMachineClone: VirtualMachineCloneSchema,
  NetworkAttachmentDefinition: NetworkAttachmentDefinitionSchema,
  MacPool: MacPoolSchema,
  MacAllocation: MacAllocationSchema,
  VirtualMachineImage: VirtualMachineImageSchema,
  DataVolume: DataVolumeSchema,
  PersistentVolumeClaim: PersistentVolumeClaimSchema,
  AuditRecord: AuditRecordSchema,
  ApiToken: ApiTokenSchema,
  Pod: PodSchema,
  Namespace: NamespaceSchema,
  Node: NodeSchema,
  Event: EventSchema,
};
