// Which Pod is a VMI's launcher: the one describe and drift read the network-status of.
import type { Pod, VirtualMachineInstance } from '../resources/types.ts';

/**
 * The launcher Pod of each VMI, from one pass over `pods`: the pod owned by it when owner references say so (the first
 * listed), else the newest pod in its namespace labelled with its name that is not being deleted. Lookups are O(1), so
 * a listing of every VMI stays linear.
 */
export function launcherPods(pods: Pod[]): (vmi: VirtualMachineInstance) => Pod | undefined {
  // By namespace, then by owner uid / by vm.kubevirt.io/name.
  const owned = new Map<string | undefined, Map<string, Pod>>();
  const labelled = new Map<string | undefined, Map<string, Pod>>();
  const within = (
    maps: Map<string | undefined, Map<string, Pod>>,
    namespace: string | undefined,
  ): Map<string, Pod> => {
    let m = maps.get(namespace);
    if (!m) maps.set(namespace, (m = new Map()));
    return m;
  };
  for (const p of pods) {
    const ns = p.metadata.namespace;
    for (const ref of p.metadata.ownerReferences ?? []) {
      const byUid = within(owned, ns);
      if (!byUid.has(ref.uid)) byUid.set(ref.uid, p);
    }
    const name = p.metadata.labels?.['vm.kubevirt.io/name'];
    if (name === undefined || p.metadata.deletionTimestamp !== undefined) continue;
    const byName = within(labelled, ns);
    const best = byName.get(name);
    // Newest first; among equally new ones the first listed.
    if (
      !best ||
      (p.metadata.creationTimestamp ?? '').localeCompare(best.metadata.creationTimestamp ?? '') > 0
    )
      byName.set(name, p);
  }
  return (vmi) => {
    const ns = vmi.metadata.namespace;
    const uid = vmi.metadata.uid;
    return (
      (uid !== undefined ? owned.get(ns)?.get(uid) : undefined) ??
      labelled.get(ns)?.get(vmi.metadata.name)
    );
  };
}

/** The launcher Pod of one VMI (see launcherPods). */
export function launcherPodOf(vmi: VirtualMachineInstance, pods: Pod[]): Pod | undefined {
  return launcherPods(pods)(vmi);
}
