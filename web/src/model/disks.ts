// Persistent disks as the Disks page lists them: one row per claim (or per DataVolume whose claim is not made yet),
// joined with the VMs and VM instances that use it, so the page can say where it lives and whether it may go.
import {
  ANNOTATION_SELECTED_NODE,
  dataVolumeStorage,
  formatBytes,
  imageReferenceOf,
  populationOf,
  requestedBytes,
} from '../../../src/resources/datavolume.ts';
import type { KubeObject } from '../../../src/resources/meta.ts';
import type {
  DataVolume,
  PersistentVolumeClaim,
  VirtualMachine,
  VirtualMachineInstance,
  Volume,
} from '../../../src/resources/types.ts';
import { claimNameOf } from '../../../src/resources/volumes.ts';

export interface DiskRow {
  name: string;
  dataVolume: DataVolume | undefined;
  claim: PersistentVolumeClaim | undefined;
  /** DataVolume phase (CDI's) or, for a bare claim, the claim's. */
  phase: string;
  /** What the claim holds (its bound capacity), else what it asks for. */
  size: string | undefined;
  /** Where the content came from: "blank", "image REF", "copy of NS/NAME". */
  source: string;
  /** The node its disk lives on; undefined until its first VM runs (WaitForFirstConsumer). */
  node: string | undefined;
  /** VMs whose manifest names it, owns it, or whose running instance still has it. */
  usedBy: string[];
  /** The VM that owns it (deleting that VM deletes the disk). */
  owner: string | undefined;
  created: string | undefined;
}

/** The claim names a VMI spec's volumes use (a dataVolume volume's claim is the DataVolume's name). */
const claimsOf = (volumes: Volume[] | undefined): string[] =>
  (volumes ?? []).map(claimNameOf).filter((n): n is string => n !== undefined);

const ownerVm = (o: KubeObject | undefined): string | undefined =>
  o?.metadata.ownerReferences?.find((r) => r.kind === 'VirtualMachine')?.name;

function sourceOf(dv: DataVolume | undefined, claim: PersistentVolumeClaim | undefined): string {
  if (claim) {
    const p = populationOf(claim);
    if (p.type === 'image') return `image ${p.reference}`;
    if (p.type === 'clone') return `copy of ${p.namespace}/${p.name}`;
    return 'blank';
  }
  const s = dv?.spec.source ?? {};
  if (s.pvc) return `copy of ${s.pvc.namespace ?? dv?.metadata.namespace}/${s.pvc.name}`;
  const image = imageReferenceOf(s, dv?.spec.sourceRef);
  return image !== undefined ? `image ${image}` : 'blank';
}

function sizeOf(
  dv: DataVolume | undefined,
  claim: PersistentVolumeClaim | undefined,
): string | undefined {
  const bound = claim?.status?.capacity?.storage;
  if (bound) return bound;
  const asked =
    requestedBytes(claim?.spec) ?? (dv ? requestedBytes(dataVolumeStorage(dv.spec)) : undefined);
  return asked === undefined ? undefined : formatBytes(asked);
}

export function diskRows(
  dataVolumes: DataVolume[],
  claims: PersistentVolumeClaim[],
  vms: VirtualMachine[],
  vmis: VirtualMachineInstance[],
): DiskRow[] {
  const users = new Map<string, Set<string>>();
  const use = (claim: string, vm: string): void => {
    const set = users.get(claim) ?? new Set<string>();
    set.add(vm);
    users.set(claim, set);
  };
  for (const vm of vms)
    for (const c of claimsOf(vm.spec.template?.spec?.volumes)) use(c, vm.metadata.name);
  for (const vmi of vmis)
    for (const c of claimsOf(vmi.spec?.volumes)) use(c, ownerVm(vmi) ?? vmi.metadata.name);
  const dvs = new Map(dataVolumes.map((d) => [d.metadata.name, d]));
  const pvcs = new Map(claims.map((c) => [c.metadata.name, c]));
  const names = [...new Set([...dvs.keys(), ...pvcs.keys()])].sort();
  return names.map((name) => {
    const dataVolume = dvs.get(name);
    const claim = pvcs.get(name);
    const owner = ownerVm(dataVolume) ?? ownerVm(claim);
    const usedBy = new Set(users.get(name) ?? []);
    if (owner) usedBy.add(owner);
    return {
      name,
      dataVolume,
      claim,
      phase: dataVolume?.status?.phase ?? claim?.status?.phase ?? 'Pending',
      size: sizeOf(dataVolume, claim),
      source: sourceOf(dataVolume, claim),
      node: claim?.metadata.annotations?.[ANNOTATION_SELECTED_NODE],
      usedBy: [...usedBy].sort(),
      owner,
      created: (dataVolume ?? claim)?.metadata.creationTimestamp,
    };
  });
}
