// cloud-init NoCloud network-config, as the platform writes and reads it: the v2 config Harrow generates when the user
// gave none (each NIC matched by its MAC, named, DHCP), and the lines of a user's config that bind an interface to a
// MAC (v1 `mac_address`, v2 `match: macaddress:`), so a MAC change that leaves them behind is warned about. Pure.
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import type { VirtualMachine, Volume } from '../resources/types.ts';
import { canonicalMac } from './mac-precedence.ts';

/** The name a guest's NIC gets: the kernel's own with net.ifnames=0 (eth0, eth1, … in device order). */
export const guestNicName = (index: number): string => `eth${index}`;

/**
 * The network-config for a guest whose user gave none: every NIC, in device order, matched by the MAC the platform
 * gives it, keeps the kernel's name and asks DHCP for an IPv4 address. Deterministic: the same MACs give the same text.
 */
export function generatedNetworkConfig(nics: ReadonlyArray<{ mac: string }>): string {
  const ethernets = nics
    .map((nic, i) => {
      const name = guestNicName(i);
      return (
        `  ${name}:\n` +
        `    match:\n      macaddress: "${canonicalMac(nic.mac) ?? nic.mac}"\n` +
        `    set-name: ${name}\n    dhcp4: true\n`
      );
    })
    .join('');
  return `version: 2\nethernets:\n${ethernets}`;
}

/** One place a network-config binds an interface to a MAC. */
export interface MacMatch {
  mac: string;
  /** 1-based line of the MAC in the text. */
  line: number;
  /** That line, trimmed. */
  text: string;
  /** The interface the entry configures (v1 `name`, v2 `set-name` or the ethernet's id). */
  interface: string;
}

const scalarString = (node: unknown): string | undefined =>
  isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number')
    ? String(node.value)
    : undefined;

function mapGet(node: unknown, key: string): unknown {
  if (!isMap(node)) return undefined;
  return node.items.find((pair) => scalarString(pair.key) === key)?.value;
}

/**
 * The lines of a network-config (v1 or v2, with or without a top-level `network:`) that match an interface by MAC:
 * v1 `physical` entries' `mac_address` and v2 `ethernets.*.match.macaddress`. Text that is not YAML has none.
 */
export function macMatches(text: string): MacMatch[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) return [];
  const lines = text.split('\n');
  const at = (node: unknown, mac: string, iface: string): MacMatch[] => {
    const canonical = canonicalMac(mac);
    const offset = (node as Node).range?.[0];
    if (canonical === undefined || offset === undefined) return [];
    const line = lineCounter.linePos(offset).line;
    return [{ mac: canonical, line, text: (lines[line - 1] ?? '').trim(), interface: iface }];
  };
  const top = doc.contents;
  const root = mapGet(top, 'network') ?? top;
  const version = scalarString(mapGet(root, 'version'));
  const out: MacMatch[] = [];
  if (version === '1') {
    const config = mapGet(root, 'config');
    if (!isSeq(config)) return [];
    for (const entry of config.items) {
      if (scalarString(mapGet(entry, 'type')) !== 'physical') continue;
      const node = mapGet(entry, 'mac_address');
      const mac = scalarString(node);
      if (mac) out.push(...at(node, mac, scalarString(mapGet(entry, 'name')) ?? ''));
    }
  } else if (version === '2') {
    const ethernets = mapGet(root, 'ethernets');
    if (!isMap(ethernets)) return [];
    for (const pair of ethernets.items) {
      const node = mapGet(mapGet(pair.value, 'match'), 'macaddress');
      const mac = scalarString(node);
      const id = scalarString(pair.key) ?? '';
      if (mac) out.push(...at(node, mac, scalarString(mapGet(pair.value, 'set-name')) ?? id));
    }
  }
  return out;
}

/** A volume's network-config as the guest reads it (`networkData`, else `networkDataBase64` decoded). */
export function networkDataOf(volume: Volume): string | undefined {
  const body = volume.cloudInitNoCloud;
  if (body?.networkData !== undefined) return body.networkData;
  if (body?.networkDataBase64 === undefined) return undefined;
  try {
    return new TextDecoder().decode(
      Uint8Array.from(atob(body.networkDataBase64), (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
}

/** A MAC match in a volume's networkData, with the field that holds it. */
export interface NetworkDataMatch extends MacMatch {
  /** e.g. `spec.template.spec.volumes[1].cloudInitNoCloud.networkData`. */
  field: string;
}

/** Every MAC match in the networkData of `volumes`, each named by its field under `prefix` (a VM's volumes by default). */
export function networkDataMatches(
  volumes: readonly Volume[] | undefined,
  prefix = 'spec.template.spec.volumes',
): NetworkDataMatch[] {
  return (volumes ?? []).flatMap((volume, index) => {
    const text = networkDataOf(volume);
    if (text === undefined) return [];
    const key =
      volume.cloudInitNoCloud?.networkData !== undefined ? 'networkData' : 'networkDataBase64';
    const field = `${prefix}[${index}].cloudInitNoCloud.${key}`;
    return macMatches(text).map((m) => ({ ...m, field }));
  });
}

/**
 * Warnings for a VM update that changes an interface's MAC while the user's networkData still matches the old one:
 * after the restart cloud-init finds no NIC with that MAC and the guest comes up with that interface unconfigured.
 * Each names the interface, both MACs, and the field and line of the match. The change itself stands (a warning).
 */
export function staleMacMatchWarnings(
  oldVm: VirtualMachine | undefined,
  vm: VirtualMachine,
): string[] {
  if (!oldVm) return [];
  const macsOf = (v: VirtualMachine) =>
    new Map(
      (v.spec.template?.spec?.domain?.devices?.interfaces ?? []).map((i) => [
        i.name,
        canonicalMac(i.macAddress),
      ]),
    );
  const before = macsOf(oldVm);
  const now = macsOf(vm);
  const current = new Set(now.values());
  const changed = new Map<string, { iface: string; mac: string | undefined }>();
  for (const [iface, old] of before) {
    if (!now.has(iface)) continue;
    const mac = now.get(iface);
    if (old !== undefined && mac !== old && !current.has(old)) changed.set(old, { iface, mac });
  }
  if (changed.size === 0) return [];
  return networkDataMatches(vm.spec.template?.spec?.volumes).flatMap((match) => {
    const change = changed.get(match.mac);
    if (!change) return [];
    return [
      `interface ${change.iface}: its MAC changes from ${match.mac} to ${change.mac ?? 'a new one'}, but ${match.field} ` +
        `line ${match.line} (${match.text}) still matches ${match.mac}: after the restart the guest's cloud-init ` +
        `finds no NIC with that MAC and leaves ${match.interface || 'the interface'} unconfigured; ` +
        `change that line to the new MAC or remove the match`,
    ];
  });
}
