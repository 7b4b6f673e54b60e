// Which Pod is a VMI's launcher: the one describe and drift read the network-status of.
import type { Pod, VirtualMachineInstance } from '../resources/types.ts';

/** The launcher Pod of a VMI: owned by it when owner references say so, else the newest pod labelled with its name. */
export function launcherPodOf(vmi: VirtualMachineInstance, pods: Pod[]): Pod | undefined {
  const mine = pods.filter((p) => p.metadata.namespace === vmi.metadata.namespace);
  const owned = mine.find(
    (p) =>
      vmi.metadata.uid !== undefined &&
      p.metadata.ownerReferences?.some((r) => r.uid === vmi.metadata.uid),
  );
  if (owned) return owned;
  const labelled = mine.filter(
    (p) =>
      p.metadata.labels?.['vm.kubevirt.io/name'] === vmi.metadata.name &&
      p.metadata.deletionTimestamp === undefined,
  );
  return labelled.sort((a, b) =>
    (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
  )[0];
}
