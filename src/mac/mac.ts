// The MAC address value type: parse the usual notations, validate for use on a NIC, classify, convert to and from a 48-bit number.

export type MacErrorCode = 'syntax' | 'multicast' | 'broadcast' | 'zero' | 'reserved';

/** Why a text is not a usable MAC address; `input` is the text as given. */
export class MacError extends Error {
  override readonly name = 'MacError';
  constructor(
    readonly code: MacErrorCode,
    readonly input: string,
    message: string,
  ) {
    super(message);
  }
}

export type MacNotation = 'colon' | 'dash' | 'dot' | 'bare';

export interface ValidateMacOptions {
  /** The interface uses KubeVirt's masquerade binding, whose in-pod bridge takes 02:00:00:00:00:00. */
  masquerade?: boolean;
}

export const MAC_ADDRESS_MAX = 0xffff_ffff_ffff;
export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';
export const ZERO_MAC = '00:00:00:00:00:00';
/** KubeVirt gives this address to the in-pod bridge of the masquerade binding, so no VM NIC may use it there. */
export const MASQUERADE_BRIDGE_MAC = '02:00:00:00:00:00';
export const MASQUERADE_BRIDGE_MAC_NUMBER = 0x0200_0000_0000;

const OCTET_HIGH = 2 ** 40; // weight of the first octet
const LOW_24 = 2 ** 24;
const EXPECTED =
  'expected 6 octets written as 52:54:00:ab:cd:ef, 52-54-00-ab-cd-ef, 5254.00ab.cdef or 525400abcdef';

const HEX_DIGITS = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const COLON = 58;

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

/** Quotes user input for a message; long garbage is cut so an error stays readable. */
function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

function syntaxError(text: string, reason: string): MacError {
  return new MacError('syntax', text, `invalid MAC address ${quote(text)}: ${reason}`);
}

/** Explains why `text` is not in any accepted notation; only called once the fast path failed. */
function describeSyntaxProblem(text: string): string {
  if (text.length === 0) return `empty; ${EXPECTED}`;
  if (/\s/.test(text)) return `contains whitespace; ${EXPECTED}`;
  const separators = [...new Set(text.replace(/[0-9a-fA-F]/g, ''))];
  const foreign = separators.find((c) => c !== ':' && c !== '-' && c !== '.');
  if (foreign !== undefined)
    return `${JSON.stringify(foreign)} is not a hexadecimal digit or separator; ${EXPECTED}`;
  if (separators.length > 1)
    return `mixes the separators ${separators.map((s) => JSON.stringify(s)).join(' and ')}; ${EXPECTED}`;
  const separator = separators[0];
  if (separator === undefined) return `${EXPECTED}, found ${text.length} hex digits instead of 12`;
  const groups = text.split(separator);
  const digits = text.length - (groups.length - 1);
  if (separator === '.')
    return `${EXPECTED}, found ${groups.length} dot-separated groups of lengths ${groups.map((g) => g.length).join(',')}`;
  if (groups.length !== 6) return `${EXPECTED}, found ${groups.length} octets`;
  return `${EXPECTED}, each octet being 2 hex digits (found ${digits} digits in groups of ${groups.map((g) => g.length).join(',')})`;
}

/** Reads the 12 hex digits of an accepted notation into a number, or returns -1. */
function parseDigits(text: string): number {
  const length = text.length;
  let separator = -1;
  let step = 0; // digits between separators
  if (length === 17) {
    separator = text.charCodeAt(2);
    if (separator !== 58 && separator !== 45) return -1; // ':' or '-'
    step = 2;
  } else if (length === 14) {
    separator = 46; // '.'
    step = 4;
  } else if (length !== 12) {
    return -1;
  }
  let high = 0; // first 6 digits
  let low = 0; // last 6 digits
  let digits = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (step !== 0 && i % (step + 1) === step) {
      if (code !== separator) return -1;
      continue;
    }
    const value = hexValue(code);
    if (value < 0) return -1;
    if (digits < 6) high = high * 16 + value;
    else low = low * 16 + value;
    digits++;
  }
  return high * LOW_24 + low;
}

function toNumber(text: string): number {
  if (typeof text !== 'string')
    throw new MacError(
      'syntax',
      // Not String(text): an object whose toString is not a function would throw a TypeError instead.
      Object.prototype.toString.call(text),
      `invalid MAC address: expected a string, got ${text === null ? 'null' : Array.isArray(text) ? 'an array' : typeof text}`,
    );
  const value = parseDigits(text);
  if (value < 0) throw syntaxError(text, describeSyntaxProblem(text));
  return value;
}

/** Parses any accepted notation (any case) and returns the canonical lower-case colon form. Throws MacError('syntax'). */
export function parseMac(text: string): string {
  return numberToMac(toNumber(text));
}

/** The MAC as an integer in [0, 2^48); accepts every notation parseMac accepts. */
export function macToNumber(mac: string): number {
  return toNumber(mac);
}

/** The canonical lower-case colon form of a 48-bit integer. */
export function numberToMac(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > MAC_ADDRESS_MAX) {
    throw new RangeError(`MAC address number must be an integer in [0, 2^48), got ${value}`);
  }
  const high = Math.floor(value / LOW_24);
  const low = value - high * LOW_24;
  // One flat string from char codes: about twice as fast as concatenating octet strings (the pool formats every allocation).
  const d = HEX_DIGITS;
  return String.fromCharCode(
    d[high >>> 20]!,
    d[(high >>> 16) & 15]!,
    COLON,
    d[(high >>> 12) & 15]!,
    d[(high >>> 8) & 15]!,
    COLON,
    d[(high >>> 4) & 15]!,
    d[high & 15]!,
    COLON,
    d[low >>> 20]!,
    d[(low >>> 16) & 15]!,
    COLON,
    d[(low >>> 12) & 15]!,
    d[(low >>> 8) & 15]!,
    COLON,
    d[(low >>> 4) & 15]!,
    d[low & 15]!,
  );
}

/** Writes a MAC (number or any accepted notation) in the given notation, lower case. */
export function formatMac(mac: number | string, notation: MacNotation = 'colon'): string {
  const colon = typeof mac === 'number' ? numberToMac(mac) : parseMac(mac);
  switch (notation) {
    case 'colon':
      return colon;
    case 'dash':
      return colon.replaceAll(':', '-');
    case 'bare':
      return colon.replaceAll(':', '');
    case 'dot': {
      const bare = colon.replaceAll(':', '');
      return `${bare.slice(0, 4)}.${bare.slice(4, 8)}.${bare.slice(8)}`;
    }
  }
}

function firstOctet(value: number): number {
  return Math.floor(value / OCTET_HIGH);
}

/** Group bit (bit 0 of the first octet): the frame goes to a group, never to one NIC. Broadcast is multicast too. */
export function isMulticast(mac: string | number): boolean {
  const value = typeof mac === 'number' ? mac : toNumber(mac);
  return (firstOctet(value) & 1) === 1;
}

/** U/L bit (bit 1 of the first octet): the address was assigned locally, not from a vendor's OUI. */
export function isLocallyAdministered(mac: string | number): boolean {
  const value = typeof mac === 'number' ? mac : toNumber(mac);
  return (firstOctet(value) & 2) === 2;
}

/**
 * parseMac plus the rules for an address a VM NIC may carry: unicast, not all-zero, and on a masquerade
 * interface not KubeVirt's bridge address. Returns the canonical form; throws MacError with the reason's code.
 */
export function validateMac(text: string, options: ValidateMacOptions = {}): string {
  const value = toNumber(text);
  const mac = numberToMac(value);
  if (value === MAC_ADDRESS_MAX) {
    throw new MacError(
      'broadcast',
      text,
      `invalid MAC address ${quote(text)}: the broadcast address ${BROADCAST_MAC} cannot be a NIC's address`,
    );
  }
  if (isMulticast(value)) {
    throw new MacError(
      'multicast',
      text,
      `invalid MAC address ${quote(text)}: ${mac} is a multicast address (bit 0 of the first octet is set); a NIC needs a unicast address, e.g. one starting with 02`,
    );
  }
  if (value === 0) {
    throw new MacError(
      'zero',
      text,
      `invalid MAC address ${quote(text)}: the all-zero address cannot be a NIC's address`,
    );
  }
  if (options.masquerade === true && value === MASQUERADE_BRIDGE_MAC_NUMBER) {
    throw new MacError(
      'reserved',
      text,
      `invalid MAC address ${quote(text)}: ${MASQUERADE_BRIDGE_MAC} is reserved by KubeVirt for the masquerade binding's in-pod bridge`,
    );
  }
  return mac;
}

const isHex = (text: string): boolean => /^[0-9a-fA-F]+$/.test(text);

/**
 * How many octets KubeVirt's parser (Go's net.ParseMAC) reads from `text` — 6, 8 (EUI-64) or 20 (InfiniBand) — or
 * undefined when it refuses the text. It knows colon, dash and dotted notation only: bare hex digits are malformed.
 */
export function kubevirtMacOctets(text: string): number | undefined {
  if (text.length < 14) return undefined;
  const sep = text[2];
  let groups: string[];
  let digits: number;
  if (sep === ':' || sep === '-') {
    groups = text.split(sep);
    digits = 2;
  } else if (text[4] === '.') {
    groups = text.split('.');
    digits = 4;
  } else return undefined;
  if (!groups.every((g) => g.length === digits && isHex(g))) return undefined;
  const octets = (groups.length * digits) / 2;
  return octets === 6 || octets === 8 || octets === 20 ? octets : undefined;
}
