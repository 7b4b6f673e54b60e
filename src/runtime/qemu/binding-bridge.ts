// KubeVirt's bridge binding inside the pod: the pod interface joins an in-pod bridge with the guest's tap and gives up its MAC.
import { randomBytes } from 'node:crypto';
import { addBridge, addTap, link, setLink } from './ip.ts';
import { podBridgeName } from './names.ts';
import type { GuestNicStatistics, NicCounters } from '../types.ts';

/** A random locally administered unicast MAC (KubeVirt moves the pod interface to one so the guest can own the assigned MAC). */
export function randomLocalMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

export interface BridgeBinding {
  bridge: string;
  tap: string;
}

/**
 * Idempotent: an existing binding (a restart in the same pod) is reused. IPv6 link-local is off on every in-pod link so
 * none of them sends frames of its own (they would carry a MAC the spoof check drops anyway).
 */
export async function bindBridge(
  namespace: string,
  podInterfaceName: string,
  tap: string,
): Promise<BridgeBinding> {
  const bridge = podBridgeName(podInterfaceName);
  const [existingBridge, existingTap] = await Promise.all([
    link(namespace, bridge),
    link(namespace, tap),
  ]);
  if (!existingBridge) {
    await addBridge(namespace, bridge);
    await setLink(namespace, bridge, { noIpv6LinkLocal: true, up: true });
  }
  const podLink = await link(namespace, podInterfaceName);
  if (!podLink) throw new Error(`pod interface ${podInterfaceName} does not exist in ${namespace}`);
  if (podLink.master !== bridge) {
    await setLink(namespace, podInterfaceName, { up: false });
    await setLink(namespace, podInterfaceName, { mac: randomLocalMac(), master: bridge, up: true });
  }
  if (!existingTap) await addTap(namespace, tap);
  if (existingTap?.master !== bridge)
    await setLink(namespace, tap, { master: bridge, noIpv6LinkLocal: true, up: true });
  return { bridge, tap };
}

/**
 * A guest NIC's counters from its tap's: the tap receives what QEMU writes into it (the guest sent it) and transmits
 * what QEMU reads out for the guest, so the sides swap, as libvirt swaps them for a domain's tap interface.
 */
export const guestSideOfTap = (name: string, tap: NicCounters): GuestNicStatistics => ({
  name,
  rxBytes: tap.txBytes,
  rxPackets: tap.txPackets,
  rxErrors: tap.txErrors,
  rxDropped: tap.txDropped,
  txBytes: tap.rxBytes,
  txPackets: tap.rxPackets,
  txErrors: tap.rxErrors,
  txDropped: tap.rxDropped,
});
