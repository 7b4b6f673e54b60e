// The Ethernet rules the simulated L2 world applies to MACs, on top of src/mac's value type.
import { MacError, ZERO_MAC, isMulticast, numberToMac, parseMac } from '../../mac/index.ts';

/** Any accepted notation → lower-case colon form; undefined when the text is not a MAC. */
export function normalizeMac(text: string): string | undefined {
  try {
    return parseMac(text);
  } catch (error) {
    if (error instanceof MacError) return undefined;
    throw error;
  }
}

/** Six octets → lower-case colon form. */
export function formatMac(octets: readonly number[]): string {
  return numberToMac(octets.reduce((value, octet) => value * 256 + octet, 0));
}

/** The kernel's is_valid_ether_addr: a NIC may carry neither a multicast (incl. broadcast) nor the all-zero address. */
export function isAssignableMac(mac: string): boolean {
  return !isMulticast(mac) && mac !== ZERO_MAC;
}
