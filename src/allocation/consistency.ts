// The pool's consistency check: rebuild who should hold each MAC from the manifests and compare with the MacAllocations.
import type { KubeObject } from '../resources/meta.ts';
import type { MacAllocation, VirtualMachine, VirtualMachineInstance } from '../resources/types.ts';
import { interfacesOf, templateSpecOf } from '../resources/virtualmachine.ts';
import type { ResourceStore } from '../store/types.ts';

export type DifferenceKind =
  | 'missing-allocation' // a manifest carries a MAC no allocation holds
  | 'wrong-holder' // the allocation names another VM or interface than the manifest that carries the MAC
  | 'quarantined-in-use' // a manifest carries a MAC whose allocation is quarantined
  | 'duplicate-in-manifests' // two manifests (or interfaces) carry the same MAC
  | 'orphan-allocation'; // an allocation in use that no manifest carries (pool-gc releases it once no instance uses it)

export interface PoolDifference {
  kind: DifferenceKind;
  macAddress: string;
  message: string;
  /** The VM interface whose manifest carries the MAC (all kinds but orphan-allocation). */
  carrier?: Carrier;
  /** The MacAllocation involved (wrong-holder, quarantined-in-use, orphan-allocation). */
  allocation?: MacAllocation;
}

export interface Carrier {
  /** VirtualMachine (absent on old records), or VirtualMachineInstance for a bare VMI. */
  kind?: string;
  namespace: string;
  name: string;
  interface: string;
}

const kindOf = (c: Carrier): string => c.kind || 'VirtualMachine';
const describe = (c: Carrier): string =>
  `${kindOf(c) === 'VirtualMachine' ? '' : `${kindOf(c)} `}${c.namespace}/${c.name} (interface ${c.interface})`;

export async function listAll(store: ResourceStore, kind: string): Promise<KubeObject[]> {
  const items: KubeObject[] = [];
  let token: string | undefined;
  do {
    const page = await store.list(kind, { limit: 1000, ...(token ? { continue: token } : {}) });
    items.push(...page.items);
    token = page.continue;
  } while (token);
  return items;
}

/** Every difference between the MACs the VM manifests carry and the MacAllocations in the store (empty when consistent). */
export async function checkPoolConsistency(store: ResourceStore): Promise<PoolDifference[]> {
  const vms = (await listAll(store, 'VirtualMachine')) as VirtualMachine[];
  const vmis = (await listAll(store, 'VirtualMachineInstance')) as VirtualMachineInstance[];
  return comparePool(vms, (await listAll(store, 'MacAllocation')) as MacAllocation[], vmis);
}

/** A VMI that names no VM holds its own MACs, as a VM does (one with a VM of its name is that VM's, as before owners). */
const isBareVmi = (vmi: VirtualMachineInstance, vmKeys: ReadonlySet<string>): boolean =>
  !vmi.metadata.ownerReferences?.some((o) => o.kind === 'VirtualMachine') &&
  !vmKeys.has(`${vmi.metadata.namespace ?? 'default'}/${vmi.metadata.name}`);

/**
 * checkPoolConsistency over objects already read (fsck reads the store once for all its checks). The manifests that
 * carry MACs are the VMs' templates and the bare VMIs' specs (`vmis` may hold owned ones too: they are skipped).
 */
export function comparePool(
  vms: VirtualMachine[],
  allocations: MacAllocation[],
  vmis: VirtualMachineInstance[] = [],
): PoolDifference[] {
  const expected = new Map<string, Carrier>();
  const differences: PoolDifference[] = [];
  const vmKeys = new Set(
    vms.map((vm) => `${vm.metadata.namespace ?? 'default'}/${vm.metadata.name}`),
  );
  const manifests = [
    ...vms.map((vm) => ({ kind: 'VirtualMachine', o: vm, spec: templateSpecOf(vm) })),
    ...vmis
      .filter((vmi) => isBareVmi(vmi, vmKeys))
      .map((vmi) => ({ kind: 'VirtualMachineInstance', o: vmi, spec: vmi.spec })),
  ];
  for (const { kind, o, spec } of manifests) {
    for (const iface of interfacesOf(spec)) {
      if (!iface.macAddress) continue;
      const carrier = {
        kind,
        namespace: o.metadata.namespace ?? 'default',
        name: o.metadata.name,
        interface: iface.name,
      };
      const first = expected.get(iface.macAddress);
      if (first) {
        differences.push({
          kind: 'duplicate-in-manifests',
          macAddress: iface.macAddress,
          message: `${iface.macAddress} is carried by ${describe(first)} and by ${describe(carrier)}`,
          carrier,
        });
        continue;
      }
      expected.set(iface.macAddress, carrier);
    }
  }
  const byMac = new Map(allocations.map((a) => [a.spec.macAddress, a]));
  for (const [mac, carrier] of expected) {
    const a = byMac.get(mac);
    if (!a) {
      differences.push({
        kind: 'missing-allocation',
        macAddress: mac,
        message: `${describe(carrier)} carries ${mac}, but no MacAllocation holds it`,
        carrier,
      });
      continue;
    }
    const o = a.spec.owner;
    if (
      kindOf(o) !== kindOf(carrier) ||
      o.namespace !== carrier.namespace ||
      o.name !== carrier.name ||
      o.interface !== carrier.interface
    ) {
      differences.push({
        kind: 'wrong-holder',
        macAddress: mac,
        message: `${describe(carrier)} carries ${mac}, but its MacAllocation names ${describe(o)}`,
        carrier,
        allocation: a,
      });
    } else if (a.status?.state === 'Quarantined') {
      differences.push({
        kind: 'quarantined-in-use',
        macAddress: mac,
        message: `${describe(carrier)} carries ${mac}, but its MacAllocation is quarantined until ${a.status.quarantineUntil ?? '?'}`,
        carrier,
        allocation: a,
      });
    }
  }
  for (const a of allocations) {
    if (a.status?.state !== 'InUse' || expected.has(a.spec.macAddress)) continue;
    differences.push({
      kind: 'orphan-allocation',
      macAddress: a.spec.macAddress,
      message: `${a.spec.macAddress} is held in use by ${describe(a.spec.owner)}, but no manifest carries it (released once no instance uses it)`,
      allocation: a,
    });
  }
  return differences;
}
