// IPv4 arithmetic for network specs: parse, prefix, containment in Harrow's 198.18.0.0/15.

export const HARROW_RANGE = '198.18.0.0/15';

export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export const formatIpv4 = (value: number): string =>
  [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');

export interface Cidr {
  network: number;
  prefix: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const [address, prefixText, extra] = text.split('/');
  if (
    extra !== undefined ||
    address === undefined ||
    prefixText === undefined ||
    !/^\d{1,2}$/.test(prefixText)
  )
    return undefined;
  const base = parseIpv4(address);
  const prefix = Number(prefixText);
  if (base === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) return undefined;
  return { network: base, prefix };
}

export const cidrContains = (cidr: Cidr, address: number): boolean =>
  address >= cidr.network && address < cidr.network + 2 ** (32 - cidr.prefix);

export const cidrWithin = (inner: Cidr, outer: Cidr): boolean =>
  inner.prefix >= outer.prefix && cidrContains(outer, inner.network);

export const netmask = (prefix: number): string => formatIpv4(2 ** 32 - 2 ** (32 - prefix));
