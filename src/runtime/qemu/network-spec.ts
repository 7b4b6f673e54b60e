// Validation of a NetworkSpec for the host: addresses inside 198.18.0.0/15, host addresses only, a usable VLAN id.
import type { NetworkSpec } from '../types.ts';
import { cidrWithin, isHostOf, parseCidr, parseIpv4, type Cidr } from '../../ip/ipv4.ts';
import { checkObjectId } from './names.ts';

const HARROW_RANGE = '198.18.0.0/15';

export interface CheckedNetwork {
  spec: NetworkSpec;
  cidr: Cidr;
}

/** Throws an Error naming the field (`network.cidr`, `network.dhcpRange.start`, …) of the first problem. */
export function checkNetworkSpec(spec: NetworkSpec): CheckedNetwork {
  const where = `network ${spec.name} (${spec.id})`;
  checkObjectId('network.id', spec.id);
  const cidr = parseCidr(spec.cidr);
  const harrow = parseCidr(HARROW_RANGE)!;
  if (!cidr)
    throw new Error(
      `${where}: network.cidr ${JSON.stringify(spec.cidr)} is not an IPv4 CIDR with a zero host part`,
    );
  if (!cidrWithin(cidr, harrow) || cidr.prefix > 30) {
    throw new Error(
      `${where}: network.cidr ${spec.cidr} must be a /15../30 inside ${HARROW_RANGE}`,
    );
  }
  const host = (field: string, text: string): number => {
    const address = parseIpv4(text);
    if (address === undefined)
      throw new Error(`${where}: ${field} ${JSON.stringify(text)} is not an IPv4 address`);
    if (!isHostOf(cidr, address)) {
      throw new Error(`${where}: ${field} ${text} is not a host address of ${spec.cidr}`);
    }
    return address;
  };
  host('network.gateway', spec.gateway);
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
  return { spec, cidr };
}
