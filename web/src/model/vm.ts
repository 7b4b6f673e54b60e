// VM manifests the UI writes (create, MAC change, adopt the guest's MAC) and the state it reads back.
import type {
  Interface,
  Network,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../../src/resources/types.ts';

export const interfacesPath = 'spec.template.spec.domain.devices.interfaces';
export const macFieldPath = (index: number): string => `${interfacesPath}[${index}].macAddress`;

/** The state word shown in lists, as KubeVirt prints it; derived from runStrategy when the controller has not yet. */
export function vmState(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined): string {
  if (vm.status?.printableStatus) return vm.status.printableStatus;
  if (vmi?.status?.phase === 'Running') return 'Running';
  const strategy = vm.spec.runStrategy ?? (vm.spec.running ? 'Always' : 'Halted');
  return strategy === 'Halted' ? 'Stopped' : 'Starting';
}

export type Action = 'start' | 'stop' | 'restart';

/** Which lifecycle actions make sense in a state (the server decides; this only avoids offering nonsense). */
export function actionsFor(state: string): Record<Action, boolean> {
  const stopped = state === 'Stopped' || state === 'Failed' || state === 'Succeeded';
  return { start: stopped, stop: !stopped && state !== 'Stopping', restart: state === 'Running' };
}

export interface NewNic {
  /** NetworkAttachmentDefinition name, or '' for the pod network (masquerade). */
  network: string;
  macAddress: string;
}

export interface NewVm {
  namespace: string;
  name: string;
  cpuCores: number;
  memory: string;
  start: boolean;
  nics: NewNic[];
}

/** The interface name for the i-th NIC: "default" for the pod network as KubeVirt does, else nic-N. */
export const nicName = (nic: NewNic, index: number): string =>
  nic.network === '' ? 'default' : `nic-${index + 1}`;

/** A KubeVirt VirtualMachine manifest for the create form; a MAC is sent only when the operator gave one. */
export function vmManifest(v: NewVm): VirtualMachine {
  const interfaces: Interface[] = v.nics.map((nic, i) => ({
    name: nicName(nic, i),
    model: 'virtio',
    ...(nic.network === '' ? { masquerade: {} } : { bridge: {} }),
    ...(nic.macAddress.trim() ? { macAddress: nic.macAddress.trim() } : {}),
  }));
  const networks: Network[] = v.nics.map((nic, i) =>
    nic.network === ''
      ? { name: nicName(nic, i), pod: {} }
      : { name: nicName(nic, i), multus: { networkName: nic.network } },
  );
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: {
      name: v.name,
      namespace: v.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'harrow-ui' },
    },
    spec: {
      runStrategy: v.start ? 'Always' : 'Halted',
      template: {
        metadata: { labels: { 'kubevirt.io/vm': v.name } },
        spec: {
          domain: {
            cpu: { cores: v.cpuCores },
            memory: { guest: v.memory },
            resources: { requests: { memory: v.memory } },
            devices: { interfaces },
          },
          networks,
        },
      },
    },
  };
}

/**
 * A merge patch that sets the MAC of some interfaces (by index; '' removes it so the pool assigns one).
 * A merge patch replaces the whole interfaces list, so every other field of every interface is copied unchanged.
 */
export function macPatch(
  vm: VirtualMachine,
  macs: ReadonlyMap<number, string>,
): Record<string, unknown> {
  const ifaces = vm.spec.template.spec.domain.devices.interfaces ?? [];
  const next = ifaces.map((iface, i) => {
    const mac = macs.get(i);
    if (mac === undefined) return iface;
    const { macAddress: _old, ...rest } = iface;
    return mac.trim() === '' ? rest : { ...rest, macAddress: mac.trim() };
  });
  return { spec: { template: { spec: { domain: { devices: { interfaces: next } } } } } };
}

/** The Edit config patch: changed MACs (see macPatch) and, when given, CPU cores and guest memory (merged into the domain). */
export function vmEditPatch(
  vm: VirtualMachine,
  macs: ReadonlyMap<number, string>,
  resources?: { cpuCores: number; memory: string },
): Record<string, unknown> {
  const domain: Record<string, unknown> = {};
  if (macs.size > 0) {
    const devices = (
      macPatch(vm, macs) as { spec: { template: { spec: { domain: { devices: unknown } } } } }
    ).spec.template.spec.domain.devices;
    domain['devices'] = devices;
  }
  if (resources) {
    domain['cpu'] = { cores: resources.cpuCores };
    domain['memory'] = { guest: resources.memory };
    domain['resources'] = { requests: { memory: resources.memory } };
  }
  return { spec: { template: { spec: { domain } } } };
}

export const cpuOf = (vm: VirtualMachine): number | undefined =>
  vm.spec.template?.spec?.domain?.cpu?.cores;
export const memoryOf = (vm: VirtualMachine): string | undefined => {
  const domain = vm.spec.template?.spec?.domain;
  const quantity = domain?.memory?.guest ?? domain?.resources?.requests?.['memory'];
  return quantity === undefined ? undefined : String(quantity);
};

/** The maintenance window a VM falls under (its own annotation wins over its namespace's), if any. */
export function maintenanceWindowOf(
  vm: VirtualMachine,
  namespaceAnnotations: Record<string, string> | undefined,
): string | undefined {
  const key = 'harrow.io/maintenance-window';
  return vm.metadata.annotations?.[key] ?? namespaceAnnotations?.[key];
}
