// What every runtime accepts as a NetworkSpec: a /15../30 inside 198.18.0.0/15, host addresses only, an ordered DHCP
// range, a usable VLAN id. Errors name the field (`network.cidr`, `network.dhcpRange.start`, …).
import { type Cidr, cidrWithin, formatCidr, isHostOf, parseCidr, parseIpv4 } from '../ip/ipv4.ts';
import { fixedAddressProblem } from '../network/fixed-address.ts';
import type { NetworkSpec } from './types.ts';

/** Harrow's address space for VM networks (RFC 2544's benchmarking range). */
const HARROW_RANGE: Cidr = { network: (198 * 256 + 18) * 65536, prefix: 15 };

/** A NetworkSpec with its addresses parsed. */
export interface CheckedNetwork {
  spec: NetworkSpec;
  cidr: Cidr;
  gateway: number;
  dhcpRange: { start: number; end: number };
}

/** Throws an Error naming the field of the first problem. */
export function checkNetworkSpec(spec: NetworkSpec): CheckedNetwork {
  if (!spec.id) throw new Error(`network ${spec.name}: network.id is required`);
  const where = `network ${spec.name} (${spec.id})`;
  const cidr = parseCidr(spec.cidr);
  if (!cidr)
    throw new Error(
      `${where}: network.cidr ${JSON.stringify(spec.cidr)} is not an IPv4 CIDR with a zero host part`,
    );
  if (!cidrWithin(cidr, HARROW_RANGE) || cidr.prefix > 30) {
    throw new Error(
      `${where}: network.cidr ${spec.cidr} must be a /15../30 inside ${formatCidr(HARROW_RANGE)}`,
    );
  }
  const host = (field: string, text: string): number => {
    const address = parseIpv4(text);
    if (address === undefined)
      throw new Error(`${where}: ${field} ${JSON.stringify(text)} is not an IPv4 address`);
    if (!isHostOf(cidr, address))
      throw new Error(`${where}: ${field} ${text} is not a host address of ${spec.cidr}`);
    return address;
  };
  const gateway = host('network.gateway', spec.gateway);
  const start = host('network.dhcpRange.start', spec.dhcpRange.start);
  const end = host('network.dhcpRange.end', spec.dhcpRange.end);
  if (start > end)
    throw new Error(
      `${where}: network.dhcpRange.start ${spec.dhcpRange.start} is after network.dhcpRange.end ${spec.dhcpRange.end}`,
    );
  if (
    spec.vlan !== undefined &&
    (!Number.isInteger(spec.vlan) || spec.vlan < 1 || spec.vlan > 4094)
  ) {
    throw new Error(`${where}: network.vlan ${spec.vlan} must be an integer in 1..4094`);
  }
  return { spec, cidr, gateway, dhcpRange: { start, end } };
}

/** A pod interface's fixed address on `network`, as a number; throws an Error naming `field` when it cannot be one. */
export function checkFixedAddress(network: NetworkSpec, field: string, address: string): number {
  const problem = fixedAddressProblem(address, network);
  if (problem) throw new Error(`network ${network.name} (${network.id}): ${field}: ${problem}`);
  return parseIpv4(address) as number;
}
