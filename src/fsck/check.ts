// fsck's check: reads the store once and lists every inconsistency between manifests, MAC allocations, instances and pods,
// each with the write that repairs it when one is safe.
import {
  comparePool,
  listAll,
  type Carrier,
  type PoolDifference,
} from '../allocation/consistency.ts';
import { allocationObject } from '../allocation/service.ts';
import { auditRecord } from '../audit/record.ts';
import { macsInUse } from '../network/macs-in-use.ts';
import { macToNumber } from '../mac/mac.ts';
import type { KubeObject, ObjectRef } from '../resources/meta.ts';
import {
  macAllocationName,
  type MacAllocation,
  type MacPool,
  type Pod,
  type VirtualMachine,
  type VirtualMachineInstance,
} from '../resources/types.ts';
import type { ResourceStore, WriteOp } from '../store/types.ts';

export type ProblemKind =
  | PoolDifference['kind']
  | 'mac-held-twice' // two MacAllocations carry the same MAC
  | 'misnamed-allocation' // a MacAllocation not named after its MAC: the store's key no longer guards its uniqueness
  | 'orphan-vmi' // a VMI whose VirtualMachine is gone (or was replaced by another of the same name)
  | 'orphan-pod'; // a launcher Pod whose VMI is gone

export interface FsckProblem {
  kind: ProblemKind;
  message: string;
  macAddress?: string;
  object?: ObjectRef;
  /** What --repair does about it; absent when no repair is safe (the problem needs a person). */
  repair?: string;
}

/** A problem with the store writes that repair it (each guarded by the resourceVersion read, so a change meanwhile fails it). */
export interface PlannedProblem extends FsckProblem {
  ops?: WriteOp[];
}

const DEFAULT_QUARANTINE_SECONDS = 300;
const LABEL_VM_NAME = 'vm.kubevirt.io/name';

const key = (namespace: string | undefined, name: string): string =>
  `${namespace ?? 'default'}/${name}`;
const refOf = (o: KubeObject): ObjectRef =>
  o.metadata.namespace !== undefined
    ? { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name }
    : { kind: o.kind, name: o.metadata.name };
const describeRef = (r: ObjectRef): string =>
  `${r.kind} ${r.namespace !== undefined ? `${r.namespace}/` : ''}${r.name}`;
const deleteOp = (o: KubeObject): WriteOp => ({
  type: 'delete',
  ref: refOf(o),
  ...(o.metadata.resourceVersion ? { resourceVersion: o.metadata.resourceVersion } : {}),
});

interface Snapshot {
  vms: VirtualMachine[];
  vmis: VirtualMachineInstance[];
  pods: Pod[];
  allocations: MacAllocation[];
  pools: MacPool[];
}

/** Where fsck reads objects from: the store (offline, `storeSource`) or the API (a HarrowClient has this method). */
export interface FsckSource {
  listAll(kind: string): Promise<KubeObject[]>;
}

export const storeSource = (store: ResourceStore): FsckSource => ({
  listAll: (kind) => listAll(store, kind),
});

async function readSnapshot(source: FsckSource): Promise<Snapshot> {
  // API lists may leave out each item's kind; the checks name objects by it.
  const read = async (kind: string): Promise<KubeObject[]> =>
    (await source.listAll(kind)).map((o) => ({ ...o, kind }));
  return {
    vms: (await read('VirtualMachine')) as VirtualMachine[],
    vmis: (await read('VirtualMachineInstance')) as VirtualMachineInstance[],
    pods: (await read('Pod')) as Pod[],
    allocations: (await read('MacAllocation')) as MacAllocation[],
    pools: (await read('MacPool')) as MacPool[],
  };
}

const ownerVm = (vmi: VirtualMachineInstance): { name: string; uid?: string } | undefined =>
  vmi.metadata.ownerReferences?.find((o) => o.kind === 'VirtualMachine');
const ownerVmi = (pod: Pod): { name: string; uid?: string } | undefined =>
  pod.metadata.ownerReferences?.find((o) => o.kind === 'VirtualMachineInstance');
const isLauncher = (pod: Pod): boolean =>
  ownerVmi(pod) !== undefined || pod.metadata.labels?.['kubevirt.io'] === 'virt-launcher';

/** MACs each VM (namespace/name) still uses through its instance and launcher pods: what pool-gc keeps in use. */
function instanceMacsByVm(s: Snapshot): Map<string, Set<string>> {
  const byVm = new Map<string, Set<string>>();
  const add = (vm: string, mac: string | undefined): void => {
    if (!mac) return;
    let set = byVm.get(vm);
    if (!set) byVm.set(vm, (set = new Set()));
    set.add(mac.toLowerCase());
  };
  for (const vmi of s.vmis) {
    for (const mac of macsInUse(vmi, []))
      add(key(vmi.metadata.namespace, ownerVm(vmi)?.name ?? vmi.metadata.name), mac);
  }
  for (const pod of s.pods) {
    const name = pod.metadata.labels?.[LABEL_VM_NAME];
    if (name !== undefined)
      for (const mac of macsInUse(undefined, [pod])) add(key(pod.metadata.namespace, name), mac);
  }
  return byVm;
}

function poolOf(pools: MacPool[], mac: string): string {
  const n = macToNumber(mac);
  const pool = pools.find((p) =>
    p.spec.ranges.some((r) => macToNumber(r.start) <= n && n <= macToNumber(r.end)),
  );
  return pool?.metadata.name ?? '';
}

/** The allocation, held in use by `carrier`'s VM and interface (keeps metadata, so the update is guarded by its resourceVersion). */
function heldBy(a: MacAllocation, carrier: Carrier, vm: KubeObject | undefined): MacAllocation {
  const next = allocationObject(a.spec.macAddress, a.spec.pool, {
    kind: carrier.kind ?? 'VirtualMachine',
    namespace: carrier.namespace,
    name: carrier.name,
    interface: carrier.interface,
    ...(vm?.metadata.uid ? { uid: vm.metadata.uid } : {}),
  });
  next.metadata = { ...a.metadata, labels: { ...a.metadata.labels, ...next.metadata.labels } };
  return next;
}

/** Every problem in the store, each with its repair when one is safe; empty when the store is consistent. */
export async function planFsck(
  source: FsckSource,
  now: Date = new Date(),
): Promise<PlannedProblem[]> {
  const s = await readSnapshot(source);
  const vmsByKey = new Map(s.vms.map((v) => [key(v.metadata.namespace, v.metadata.name), v]));
  const vmisByKey = new Map(s.vmis.map((v) => [key(v.metadata.namespace, v.metadata.name), v]));
  const used = instanceMacsByVm(s);
  const usedBy = (vm: string, mac: string): boolean => used.get(vm)?.has(mac) ?? false;
  const problems: PlannedProblem[] = [];

  // MAC uniqueness rests on the allocation's key being its MAC: check that first, and leave those MACs alone below.
  const byMac = new Map<string, MacAllocation[]>();
  for (const a of s.allocations)
    byMac.set(a.spec.macAddress, [...(byMac.get(a.spec.macAddress) ?? []), a]);
  const untouchable = new Set<string>();
  for (const [mac, held] of byMac) {
    if (held.length > 1) {
      untouchable.add(mac);
      problems.push({
        kind: 'mac-held-twice',
        macAddress: mac,
        message: `${mac} is held by ${held.length} MacAllocations: ${held.map((a) => `${a.metadata.name} (${key(a.spec.owner.namespace, a.spec.owner.name)})`).join(', ')}`,
      });
    }
    for (const a of held) {
      if (a.metadata.name === macAllocationName(mac)) continue;
      untouchable.add(mac);
      problems.push({
        kind: 'misnamed-allocation',
        macAddress: mac,
        object: refOf(a),
        message: `MacAllocation ${a.metadata.name} holds ${mac} but is not named ${macAllocationName(mac)}, so the store does not keep ${mac} unique`,
      });
    }
  }

  // Misnamed ones are reported above; compared with the manifests, they would only repeat it as a wrong holder.
  const differences = comparePool(
    s.vms,
    s.allocations.filter((a) => a.metadata.name === macAllocationName(a.spec.macAddress)),
    s.vmis,
  );
  const duplicated = new Set(
    differences.filter((d) => d.kind === 'duplicate-in-manifests').map((d) => d.macAddress),
  );
  for (const d of differences) {
    const problem: PlannedProblem = { kind: d.kind, macAddress: d.macAddress, message: d.message };
    const a = d.allocation;
    const carrierVm = d.carrier
      ? (d.carrier.kind === 'VirtualMachineInstance' ? vmisByKey : vmsByKey).get(
          key(d.carrier.namespace, d.carrier.name),
        )
      : undefined;
    if (a) problem.object = refOf(a);
    const safe = !untouchable.has(d.macAddress) && !duplicated.has(d.macAddress);
    if (d.kind === 'orphan-allocation' && a) {
      // A MAC the manifest dropped stays in use while the running instance still has it (restart pending): not a problem.
      if (usedBy(key(a.spec.owner.namespace, a.spec.owner.name), d.macAddress)) continue;
      if (safe) {
        const seconds =
          s.pools.find((p) => p.metadata.name === a.spec.pool)?.spec.quarantineSeconds ??
          DEFAULT_QUARANTINE_SECONDS;
        const released: MacAllocation = {
          ...a,
          status: {
            state: 'Quarantined',
            releasedAt: now.toISOString(),
            quarantineUntil: new Date(now.getTime() + seconds * 1000).toISOString(),
          },
        };
        problem.repair = `release ${d.macAddress} into quarantine (as pool-gc does)`;
        problem.ops = [{ type: 'update', object: released }];
      }
    } else if (d.kind === 'missing-allocation' && d.carrier && safe && !byMac.has(d.macAddress)) {
      const owner = {
        kind: 'VirtualMachine',
        ...d.carrier,
        ...(carrierVm?.metadata.uid ? { uid: carrierVm.metadata.uid } : {}),
      };
      problem.object = { kind: 'MacAllocation', name: macAllocationName(d.macAddress) };
      problem.repair = `create MacAllocation ${macAllocationName(d.macAddress)} held by ${key(d.carrier.namespace, d.carrier.name)}`;
      problem.ops = [
        {
          type: 'create',
          object: allocationObject(d.macAddress, poolOf(s.pools, d.macAddress), owner),
        },
      ];
    } else if (
      (d.kind === 'wrong-holder' || d.kind === 'quarantined-in-use') &&
      a &&
      d.carrier &&
      safe
    ) {
      const named = key(a.spec.owner.namespace, a.spec.owner.name);
      const claimant =
        named !== key(d.carrier.namespace, d.carrier.name) && usedBy(named, d.macAddress);
      if (claimant) {
        problem.message += `; ${named} still uses it in its instance, so two VMs claim it`;
      } else {
        problem.repair = `make ${macAllocationName(d.macAddress)} held in use by ${key(d.carrier.namespace, d.carrier.name)} (interface ${d.carrier.interface})`;
        problem.ops = [{ type: 'update', object: heldBy(a, d.carrier, carrierVm) }];
      }
    }
    problems.push(problem);
  }

  for (const vmi of s.vmis) {
    const owner = ownerVm(vmi);
    const vm = vmsByKey.get(key(vmi.metadata.namespace, owner?.name ?? vmi.metadata.name));
    const ref = refOf(vmi);
    // A VMI without a VM is a bare VMI: it holds its own MACs, checked with the manifests above.
    if (!owner) continue;
    if (vm && (!owner.uid || !vm.metadata.uid || owner.uid === vm.metadata.uid)) continue;
    problems.push({
      kind: 'orphan-vmi',
      object: ref,
      message: vm
        ? `${describeRef(ref)} belongs to VirtualMachine ${owner.name} uid ${owner.uid}, but that VM was replaced (uid ${vm.metadata.uid})`
        : `${describeRef(ref)} belongs to VirtualMachine ${owner.name}, which does not exist`,
      repair: `delete ${describeRef(ref)}`,
      ops: [deleteOp(vmi)],
    });
  }
  for (const pod of s.pods) {
    if (!isLauncher(pod)) continue;
    const owner = ownerVmi(pod);
    const name = owner?.name ?? pod.metadata.labels?.[LABEL_VM_NAME];
    const vmi = name !== undefined ? vmisByKey.get(key(pod.metadata.namespace, name)) : undefined;
    if (vmi && (!owner?.uid || !vmi.metadata.uid || owner.uid === vmi.metadata.uid)) continue;
    const ref = refOf(pod);
    problems.push({
      kind: 'orphan-pod',
      object: ref,
      message: `launcher ${describeRef(ref)} belongs to VirtualMachineInstance ${name ?? '(unnamed)'}${owner?.uid ? ` uid ${owner.uid}` : ''}, which does not exist`,
      repair: `delete ${describeRef(ref)}`,
      ops: [deleteOp(pod)],
    });
  }
  return problems;
}

/** The problems without their write plans (what fsck prints). */
export const withoutPlans = (problems: PlannedProblem[]): FsckProblem[] =>
  problems.map(({ ops: _ops, ...p }) => p);

export interface RepairOutcome {
  problem: FsckProblem;
  repaired: boolean;
  /** Why the repair failed (the object changed meanwhile, …). */
  error?: string;
}

const FSCK_USER = 'system:harrow-fsck';

/**
 * Applies each safe repair as its own atomic commit with its audit record, so one that fails (the object changed
 * meanwhile) leaves the others done.
 */
export async function repairStore(
  store: ResourceStore,
  problems: PlannedProblem[],
): Promise<RepairOutcome[]> {
  const outcomes: RepairOutcome[] = [];
  for (const { ops, ...problem } of problems) {
    if (!ops || ops.length === 0) continue;
    const about = problem.object ?? {
      kind: 'MacAllocation',
      name: macAllocationName(problem.macAddress ?? ''),
    };
    const audit = auditRecord({
      user: FSCK_USER,
      verb: 'fsck-repair',
      resource: about,
      outcome: { code: 200, message: `${problem.kind}: ${problem.repair ?? ''}` },
    });
    try {
      await store.commit([...ops, { type: 'create', object: audit }]);
      outcomes.push({ problem, repaired: true });
    } catch (e) {
      outcomes.push({
        problem,
        repaired: false,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }
  return outcomes;
}
