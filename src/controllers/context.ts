// What every Harrow controller is given: the store, the Runtime interface, the shared informers and their indexes.
import type { ImageResolver } from './guest-disks.ts';
import type { Logger } from 'pino';
import type { KubeObject } from '../resources/meta.ts';
import {
  LABEL_CREATED_BY,
  LABEL_VM_NAME,
  type NetworkAttachmentDefinition,
  type Pod,
  type VirtualMachine,
  type VirtualMachineInstance,
} from '../resources/types.ts';
import type { Runtime } from '../runtime/types.ts';
import type { ResourceStore } from '../store/types.ts';
import type { ControllerManager, SharedInformer } from './framework.ts';
import type { MetricsRegistry } from '../metrics/families.ts';
import { podNetworkSelections } from '../network/multus.ts';

/** The user controllers act as in audit records. */
export const CONTROLLER_USER = 'system:harrow:controller';

/**
 * Fills every missing macAddress of a VM from the pool and commits the VM (the lead's allocation service implements it);
 * the network plugin calls it when a namespace has pool admission off. Throws on conflict.
 */
export interface MacAssigner {
  assignMissing(vm: VirtualMachine): Promise<VirtualMachine>;
  /**
   * Fills the MACs a VMI's own interfaces still lack (a bare VMI's, or the default pod interface KubeVirt adds to a
   * VM's instance), held by its VM or by the bare VMI, and commits the VMI.
   */
  assignInstance(vmi: VirtualMachineInstance): Promise<VirtualMachineInstance>;
}

export const INDEX_UID = 'uid';
/** Pods by `kubevirt.io/created-by` (the VMI uid). */
export const INDEX_CREATED_BY = 'createdBy';
/** Pods by `namespace/<vm.kubevirt.io/name>` (the VMI's, hence the VM's, name). */
export const INDEX_VM = 'vm';
/** Pods by each `namespace/name` of the NADs they ask for. */
export const INDEX_NAD = 'nad';

export interface SharedInformers {
  vms: SharedInformer<VirtualMachine>;
  vmis: SharedInformer<VirtualMachineInstance>;
  pods: SharedInformer<Pod>;
  nads: SharedInformer<NetworkAttachmentDefinition>;
}

export interface ControllerContext {
  store: ResourceStore;
  runtime: Runtime;
  manager: ControllerManager;
  informers: SharedInformers;
  macAssigner: MacAssigner;
  nodeName: string;
  /** The user node-side controllers' audit records name: CONTROLLER_USER here, the node's own user on an agent. */
  auditUser: string;
  logger: Logger;
  metrics: MetricsRegistry;
  now: () => number;
  /** Keys reconciled at once per controller. */
  concurrency: number;
  /** Where containerDisk images are resolved (none: a VMI with a containerDisk waits with ImageNotFound). */
  images?: ImageResolver;
}

const uidOf = (o: KubeObject): string[] => (o.metadata.uid ? [o.metadata.uid] : []);

export function vmKeyOfPod(pod: Pod): string | undefined {
  const vm = pod.metadata.labels?.[LABEL_VM_NAME];
  return vm ? `${pod.metadata.namespace ?? 'default'}/${vm}` : undefined;
}

export function nadKeysOfPod(pod: Pod): string[] {
  const ns = pod.metadata.namespace ?? 'default';
  return podNetworkSelections(pod).map((e) => `${e.namespace ?? ns}/${e.name}`);
}

export function sharedInformers(manager: ControllerManager): SharedInformers {
  const vmis = manager.informer<VirtualMachineInstance>('VirtualMachineInstance');
  const pods = manager.informer<Pod>('Pod');
  const nads = manager.informer<NetworkAttachmentDefinition>('NetworkAttachmentDefinition');
  vmis.addIndex(INDEX_UID, uidOf);
  pods.addIndex(INDEX_UID, uidOf);
  pods.addIndex(INDEX_CREATED_BY, (p) => {
    const by = p.metadata.labels?.[LABEL_CREATED_BY];
    return by ? [by] : [];
  });
  pods.addIndex(INDEX_VM, (p) => {
    const k = vmKeyOfPod(p);
    return k ? [k] : [];
  });
  pods.addIndex(INDEX_NAD, nadKeysOfPod);
  let vms: SharedInformer<VirtualMachine> | undefined;
  return {
    // Made on first use: the node side reads no VM through an informer (a node's token may not list VMs).
    get vms() {
      return (vms ??= manager.informer<VirtualMachine>('VirtualMachine'));
    },
    vmis,
    pods,
    nads,
  };
}
