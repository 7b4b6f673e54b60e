// busybox `ip` (v1.35) in the simulated guest: `ip link [show [DEV]]`, `ip link set DEV [address MAC] [up|down]`, `ip [-4] addr [show [DEV]]`.
import { isAssignableMac, formatMac } from '../ethernet.ts';
import { parseIpv4 } from '../../../ip/ipv4.ts';
import { type Applet, type GuestLink, type GuestOs, BUSYBOX_VERSION, result } from './guest-os.ts';
import type { ExecResult } from '../../types.ts';

const USAGE = `BusyBox v${BUSYBOX_VERSION} multi-call binary.

Usage: ip [OPTIONS] address|route|link|tunnel|neigh|rule [ARGS]

OPTIONS := -f[amily] inet|inet6|link | -o[neline]

ip addr add|del IFADDR dev IFACE | show|flush [dev IFACE] [to PREFIX]
ip route list|flush|add|del|change|append|replace|test ROUTE
ip link set IFACE [up|down] [arp on|off] [multicast on|off]
\t[promisc on|off] [mtu NUM] [name NAME] [qlen NUM] [address MAC]
\t[master IFACE | nomaster] [netns PID]
ip tunnel add|change|del|show [NAME]
\t[mode ipip|gre|sit] [remote ADDR] [local ADDR] [ttl TTL]
ip neigh show|flush [to PREFIX] [dev DEV] [nud STATE]
ip rule [list] | add|del SELECTOR ACTION]
`;

type Family = 'any' | 'inet' | 'inet6' | 'link';

const die = (exitCode: number, message: string): ExecResult =>
  result(exitCode, '', `ip: ${message}\n`);
const notModelled = (what: string): ExecResult =>
  die(2, `sim: '${what}' is not modelled by the simulated guest`);

/** Busybox's index_in_substrings: the first keyword that `arg` is a prefix of. */
const keywordOf = (arg: string, keywords: readonly string[]): string | undefined =>
  arg === '' ? undefined : keywords.find((k) => k.startsWith(arg));

const LO_LINK = '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\n';
const LO_ETHER = '    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n';
const LO_INET =
  '    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n';

const linkLine = (l: GuestLink): string =>
  `${l.index}: ${l.name}: <${l.up ? 'BROADCAST,MULTICAST,UP,LOWER_UP' : 'BROADCAST,MULTICAST'}> mtu 1500 qdisc pfifo_fast qlen 1000\n`;
const etherLine = (l: GuestLink): string => `    link/ether ${l.mac} brd ff:ff:ff:ff:ff:ff\n`;
const inetLines = (l: GuestLink): string =>
  l.ipv4
    ? `    inet ${l.ipv4.address}/${l.ipv4.prefix} scope global ${l.name}\n` +
      '       valid_lft forever preferred_lft forever\n'
    : '';

export const ip: Applet = (args, os) => {
  let family: Family = 'any';
  let rest = [...args];
  while (rest[0]?.startsWith('-') && rest[0].length > 1) {
    const option = rest.shift() ?? '';
    if (option === '-4') family = 'inet';
    else if (option === '-6') family = 'inet6';
    else if (option === '-0') family = 'link';
    else if ('-family'.startsWith(option) && option.length >= 2) {
      const value = rest.shift();
      if (value === 'inet' || value === 'inet6' || value === 'link') family = value;
      else return die(1, `invalid argument '${value ?? ''}' to '-family'`);
    } else if ('-oneline'.startsWith(option) && option.length >= 2) {
      return notModelled(`ip ${option}`);
    } else {
      return result(1, '', USAGE);
    }
  }
  const object = keywordOf(rest[0] ?? '', ['address', 'route', 'link', 'tunnel', 'neigh', 'rule']);
  rest = rest.slice(1);
  if (object === 'link') return link(rest, os);
  if (object === 'address') return address(rest, family, os);
  if (object) return notModelled(`ip ${object}`);
  return result(1, '', USAGE);
};

function link(args: string[], os: GuestOs): ExecResult {
  if (args.length === 0) return showLinks(undefined, os);
  const action = keywordOf(args[0] ?? '', ['add', 'delete', 'set', 'show', 'lst', 'list']);
  if (action === 'set') return setLink(args.slice(1), os);
  if (action === 'show' || action === 'lst' || action === 'list') {
    const rest = args.slice(1);
    if (rest[0] === 'dev') rest.shift();
    return showLinks(rest[0], os);
  }
  if (action) return notModelled(`ip link ${action}`);
  return die(2, `invalid argument '${args[0] ?? ''}' to 'ip'`);
}

function showLinks(device: string | undefined, os: GuestOs): ExecResult {
  const links = os.links();
  if (device === undefined)
    return result(0, LO_LINK + LO_ETHER + links.map((l) => linkLine(l) + etherLine(l)).join(''));
  if (device === 'lo') return result(0, LO_LINK + LO_ETHER);
  const found = links.find((l) => l.name === device);
  return found
    ? result(0, linkLine(found) + etherLine(found))
    : die(2, `can't find device '${device}'`);
}

const UNMODELLED_LINK_KEYWORDS = new Set([
  'mtu',
  'name',
  'qlen',
  'txqueuelen',
  'txqlen',
  'arp',
  'multicast',
  'allmulticast',
  'promisc',
  'master',
  'nomaster',
  'netns',
  'broadcast',
  'brd',
]);

function setLink(args: string[], os: GuestOs): ExecResult {
  let device: string | undefined;
  let newAddress: string | undefined;
  let newState: boolean | undefined;
  for (let i = 0; i < args.length; i++) {
    const word = args[i] ?? '';
    if (word === 'up' || word === 'down') {
      newState = word === 'up';
    } else if (word === 'address' || word === 'dev') {
      const value = args[++i];
      if (value === undefined) return die(2, 'command line is not complete, try "help"');
      if (word === 'address') newAddress = value;
      else device = value;
    } else if (UNMODELLED_LINK_KEYWORDS.has(word)) {
      return notModelled(`ip link set ${word}`);
    } else {
      if (device !== undefined) return die(2, `either "dev" is duplicate, or "${word}" is garbage`);
      device = word;
    }
  }
  if (device === undefined) return die(2, '"dev" requires an argument');
  if (device === 'lo' && (newAddress !== undefined || newState !== undefined))
    return notModelled('ip link set lo');
  const exists = os.links().some((l) => l.name === device);
  // busybox resolves the device and parses the address before it changes anything, then sets the address, then flags.
  if (newAddress !== undefined) {
    if (!exists) return die(2, 'SIOCGIFINDEX: No such device');
    const parsed = parseLladdr(newAddress);
    if (!parsed.ok) return die(parsed.exitCode, parsed.message);
    if (!isAssignableMac(parsed.mac))
      return die(2, 'SIOCSIFHWADDR: Cannot assign requested address');
    os.setLinkAddress(device, parsed.mac);
  }
  if (newState !== undefined) {
    if (!exists) return die(2, 'SIOCGIFFLAGS: No such device');
    os.setLinkUp(device, newState);
  }
  return result(0);
}

type LladdrParse = { ok: true; mac: string } | { ok: false; exitCode: number; message: string };

/** Busybox's ll_addr_a2n + length check, with its messages: colon-separated hex bytes, `sscanf("%x")` per byte. */
export function parseLladdr(text: string): LladdrParse {
  if (text.includes('.')) {
    return parseIpv4(text) === undefined
      ? { ok: false, exitCode: 1, message: `"${text}" is invalid lladdr` }
      : { ok: false, exitCode: 2, message: `wrong address (${text}) length: expected 6 bytes` };
  }
  // ll_addr_a2n cuts the string at each ':' in place, so busybox's length message shows only the first byte.
  const parts = text.split(':');
  const bytes: number[] = [];
  for (const part of parts.slice(0, 14)) {
    const match = /^\s*([+-]?)(?:0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]+)/.exec(part);
    const value = match ? Number.parseInt(match[2] ?? '', 16) : Number.NaN;
    if (!match || match[1] === '-' || !(value <= 255))
      return { ok: false, exitCode: 1, message: `"${part}" is invalid lladdr` };
    bytes.push(value);
  }
  if (bytes.length !== 6)
    return {
      ok: false,
      exitCode: 2,
      message: `wrong address (${parts[0] ?? ''}) length: expected 6 bytes`,
    };
  return { ok: true, mac: formatMac(bytes) };
}

function address(args: string[], family: Family, os: GuestOs): ExecResult {
  const action =
    args.length === 0
      ? 'show'
      : keywordOf(args[0] ?? '', [
          'add',
          'change',
          'chg',
          'replace',
          'delete',
          'list',
          'flush',
          'show',
          'lst',
        ]);
  if (!action) return die(2, `invalid argument '${args[0] ?? ''}' to 'ip'`);
  if (action !== 'show' && action !== 'list' && action !== 'lst')
    return notModelled(`ip addr ${action}`);
  let device: string | undefined;
  let onlyUp = false;
  const rest = args.slice(1);
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i] ?? '';
    if (word === 'up') onlyUp = true;
    else if (word === 'dev') device = rest[++i];
    else if (device === undefined) device = word;
    else return notModelled(`ip addr show ${word}`);
  }
  const links = os.links();
  if (device !== undefined && device !== 'lo' && !links.some((l) => l.name === device)) {
    return die(1, `can't find device '${device}'`);
  }
  const showLink = family === 'any' || family === 'link';
  const showInet = family === 'any' || family === 'inet';
  let out = '';
  if (device === undefined || device === 'lo') {
    if (family !== 'inet6') out += LO_LINK + (showLink ? LO_ETHER : '') + (showInet ? LO_INET : '');
  }
  for (const l of links) {
    if (device !== undefined && l.name !== device) continue;
    if (onlyUp && !l.up) continue;
    // With an address family filter, links without an address of that family are left out entirely.
    if (family === 'inet6' || (family === 'inet' && !l.ipv4)) continue;
    out += linkLine(l) + (showLink ? etherLine(l) : '') + (showInet ? inetLines(l) : '');
  }
  return result(0, out);
}
