// IPv4 addresses and CIDR blocks, the one parser for admission, both runtimes and the web UI (on ipaddr.js); pure.
import ipaddr from 'ipaddr.js';

/** A block of addresses: its network address (as a 32-bit number) and prefix length. */
export interface Cidr {
  network: number;
  prefix: number;
}

/** An address with the prefix of its subnet (`198.19.0.11/24`): host bits allowed, as on an interface. */
export interface InterfaceAddress {
  address: number;
  prefix: number;
}

const toNumber = (address: ipaddr.IPv4): number =>
  address.toByteArray().reduce((value, octet) => value * 256 + octet, 0);

const toAddress = (value: number): ipaddr.IPv4 =>
  new ipaddr.IPv4([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);

/**
 * A dotted quad → its unsigned 32-bit number; undefined for anything else. Leading zeros are refused, as Kubernetes'
 * validation and Go's parser refuse them: `010` is octal to inet_aton and decimal to others.
 */
export function parseIpv4(text: string): number | undefined {
  return ipaddr.IPv4.isValidFourPartDecimal(text) ? toNumber(ipaddr.IPv4.parse(text)) : undefined;
}

export function formatIpv4(value: number): string {
  return toAddress(value).toString();
}

/** A prefix length 0..32 in plain decimal (no sign, no leading zero). */
function parsePrefix(text: string): number | undefined {
  if (!/^(0|[1-9][0-9]?)$/.test(text)) return undefined;
  const prefix = Number(text);
  return prefix <= 32 ? prefix : undefined;
}

/** `198.19.0.11/24` → address and prefix; undefined when either part is malformed. Host bits may be set. */
export function parseInterfaceAddress(text: string): InterfaceAddress | undefined {
  const [addressText, prefixText, extra] = text.split('/');
  if (addressText === undefined || prefixText === undefined || extra !== undefined)
    return undefined;
  const address = parseIpv4(addressText);
  const prefix = parsePrefix(prefixText);
  return address === undefined || prefix === undefined ? undefined : { address, prefix };
}

/** The block an address lies in at a given prefix length. */
export function cidrOf(address: number, prefix: number): Cidr {
  return {
    network: toNumber(ipaddr.IPv4.networkAddressFromCIDR(`${formatIpv4(address)}/${prefix}`)),
    prefix,
  };
}

/** `198.18.3.0/24` → its block; undefined when malformed or when host bits are set (`198.18.3.1/24`). */
export function parseCidr(text: string): Cidr | undefined {
  const parsed = parseInterfaceAddress(text);
  if (!parsed) return undefined;
  const cidr = cidrOf(parsed.address, parsed.prefix);
  return cidr.network === parsed.address ? cidr : undefined;
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.prefix}`;
}

/** The last address of a block (its broadcast address). */
export function broadcastOf(cidr: Cidr): number {
  return toNumber(ipaddr.IPv4.broadcastAddressFromCIDR(formatCidr(cidr)));
}

export function cidrContains(cidr: Cidr, address: number): boolean {
  return toAddress(address).match(toAddress(cidr.network), cidr.prefix);
}

export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.prefix >= outer.prefix && cidrContains(outer, inner.network);
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return cidrWithin(a, b) || cidrWithin(b, a);
}

/** A host address of the block: inside it, neither its network nor its broadcast address. */
export function isHostOf(cidr: Cidr, address: number): boolean {
  return cidrContains(cidr, address) && address !== cidr.network && address !== broadcastOf(cidr);
}

/** `24` → `255.255.255.0`. */
export function netmask(prefix: number): string {
  return ipaddr.IPv4.subnetMaskFromPrefixLength(prefix).toString();
}
