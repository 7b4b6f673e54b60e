// Which MACs a VM's instance and launcher pods still use, so the pool keeps them: pool-gc and fsck both ask this.
import type { Pod, VirtualMachineInstance } from '../resources/types.ts';
import { interfacesOf } from '../resources/virtualmachine.ts';
import { networkStatusOf, podNetworkOf, podNetworkSelections } from './multus.ts';

/**
 * The MACs a VM's instance and launcher pods still use (lower case, may repeat): the instance's spec and platform
 * status, the pods' network selections, pod network and network-status. Every stage of the chain but the guest counts:
 * a MAC only the guest uses is not the platform's to keep.
 */
export function macsInUse(vmi: VirtualMachineInstance | undefined, pods: Iterable<Pod>): string[] {
  const macs: Array<string | undefined> = [];
  for (const iface of interfacesOf(vmi?.spec)) macs.push(iface.macAddress);
  for (const s of vmi?.status?.interfaces ?? [])
    if (s.infoSource !== 'guest-agent') macs.push(s.mac);
  for (const pod of pods) {
    for (const e of podNetworkSelections(pod)) macs.push(e.mac);
    macs.push(podNetworkOf(pod)?.mac);
    for (const e of networkStatusOf(pod) ?? []) macs.push(e.mac);
  }
  return macs
    .filter((m): m is string => typeof m === 'string' && m !== '')
    .map((m) => m.toLowerCase());
}
