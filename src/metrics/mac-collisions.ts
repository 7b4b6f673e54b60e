// kmp_mac_collisions as KubeMacPool defines it: per MAC, the number of running VMIs whose status lists it, exported
// only for a MAC more than one of them lists. Harrow's admission refuses a second holder of a MAC (409), so a collision
// here is a guest that set its NIC to another VM's MAC in the guest, or a VMI whose MACs bypassed the pool.
import type { VirtualMachineInstance } from '../resources/types.ts';
import type { Samples, ScrapedFamily } from './scrape.ts';

export const MAC_COLLISION_FAMILIES: readonly ScrapedFamily[] = [
  {
    name: 'kmp_mac_collisions',
    help: 'Count of running objects sharing the same MAC address (collision when > 1): running VMIs whose status.interfaces list the MAC as mac or guestMac.',
    type: 'gauge',
    labelNames: ['mac'],
  },
];

/**
 * The MACs of a VMI as KubeMacPool reads them (status.interfaces[].mac: the platform's, and a guest-agent entry's own)
 * plus the MAC the guest's NIC uses (guestMac, from QMP even without an agent); each VMI counts once per MAC.
 */
function macsOf(vmi: VirtualMachineInstance): Set<string> {
  const macs = new Set<string>();
  for (const i of vmi.status?.interfaces ?? []) {
    for (const mac of [i.mac, i.guestMac]) if (mac) macs.add(mac.toLowerCase());
  }
  return macs;
}

/** Per MAC listed by two or more running VMIs, how many list it. */
export function macCollisions(vmis: readonly VirtualMachineInstance[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const vmi of vmis) {
    if (vmi.status?.phase !== 'Running') continue;
    for (const mac of macsOf(vmi)) counts.set(mac, (counts.get(mac) ?? 0) + 1);
  }
  for (const [mac, n] of counts) if (n < 2) counts.delete(mac);
  return counts;
}

export function macCollisionSamples(vmis: readonly VirtualMachineInstance[]): Samples {
  return {
    kmp_mac_collisions: [...macCollisions(vmis)].map(([mac, value]) => ({
      labels: { mac },
      value,
    })),
  };
}
