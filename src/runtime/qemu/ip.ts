// iproute2 wrapper (`ip`, `bridge`): namespaces, links, addresses; the only place that reads `ip -j` output.
import { CommandError, run } from './command.ts';
import { stat } from 'node:fs/promises';
import { isObject } from './json-stream.ts';

export interface Link {
  name: string;
  index: number;
  mac: string;
  /** `veth`, `bridge`, `tun`, … (undefined for plain devices such as lo). */
  kind?: string;
  master?: string;
  alias?: string;
  operstate: string;
  up: boolean;
}

export interface Address {
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
}

/** Parses `ip -j -d link show`. */
export function parseLinks(json: string): Link[] {
  const value: unknown = JSON.parse(json || '[]');
  if (!Array.isArray(value)) throw new Error('ip -j link: expected an array');
  return value.filter(isObject).map((entry) => {
    const flags = Array.isArray(entry.flags) ? entry.flags : [];
    const link: Link = {
      name: String(entry.ifname),
      index: Number(entry.ifindex),
      mac: String(entry.address ?? '').toLowerCase(),
      operstate: String(entry.operstate ?? 'UNKNOWN'),
      up: flags.includes('UP'),
    };
    if (isObject(entry.linkinfo) && typeof entry.linkinfo.info_kind === 'string')
      link.kind = entry.linkinfo.info_kind;
    if (typeof entry.master === 'string') link.master = entry.master;
    if (typeof entry.ifalias === 'string' && entry.ifalias !== '') link.alias = entry.ifalias;
    return link;
  });
}

/** Parses `ip -j addr show`: the addresses of every listed interface. */
export function parseAddresses(json: string): Address[] {
  const value: unknown = JSON.parse(json || '[]');
  if (!Array.isArray(value)) throw new Error('ip -j addr: expected an array');
  const addresses: Address[] = [];
  for (const entry of value.filter(isObject)) {
    const infos = Array.isArray(entry.addr_info) ? entry.addr_info.filter(isObject) : [];
    for (const info of infos) {
      if ((info.family === 'inet' || info.family === 'inet6') && typeof info.local === 'string') {
        addresses.push({
          family: info.family,
          local: info.local,
          prefixlen: Number(info.prefixlen),
        });
      }
    }
  }
  return addresses;
}

/** Parses `ip -j netns list` (older iproute2 prints nothing at all when there is no namespace). */
export function parseNamespaces(json: string): string[] {
  if (!json.trim()) return [];
  const value: unknown = JSON.parse(json);
  if (!Array.isArray(value)) throw new Error('ip -j netns list: expected an array');
  return value.filter(isObject).map((entry) => String(entry.name));
}

const ip = (namespace: string | undefined, args: string[]) =>
  run('ip', namespace ? ['-n', namespace, ...args] : args);

const isMissing = (error: unknown): boolean =>
  error instanceof CommandError &&
  /does not exist|Cannot find device|No such file|not found/i.test(error.stderr);

export async function listNamespaces(): Promise<string[]> {
  return parseNamespaces((await run('ip', ['-j', 'netns', 'list'])).stdout);
}

export async function namespaceExists(name: string): Promise<boolean> {
  return (await listNamespaces()).includes(name);
}

/** Creates the namespace (and brings its loopback up) unless it exists. */
export async function ensureNamespace(name: string): Promise<void> {
  if (await namespaceExists(name)) return;
  try {
    await run('ip', ['netns', 'add', name]);
  } catch (error) {
    if (!(error instanceof CommandError && /File exists/.test(error.stderr))) throw error;
  }
  await ip(name, ['link', 'set', 'dev', 'lo', 'up']);
}

export async function deleteNamespace(name: string): Promise<void> {
  try {
    await run('ip', ['netns', 'delete', name]);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}

/** The inode of a named namespace (iproute2 keeps it bound at /run/netns/NAME); undefined when there is none. */
export async function namespaceInode(name: string): Promise<number | undefined> {
  try {
    return (await stat(`/run/netns/${name}`)).ino;
  } catch {
    return undefined;
  }
}

/** Pids of the processes whose network namespace is `name`. */
export async function namespacePids(name: string): Promise<number[]> {
  try {
    const { stdout } = await run('ip', ['netns', 'pids', name]);
    return stdout
      .split('\n')
      .map((line) => Number.parseInt(line, 10))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/** Argument vector that runs `file args…` inside a namespace (`ip netns exec`). */
export const inNamespace = (
  namespace: string,
  file: string,
  args: readonly string[],
): [string, string[]] => ['ip', ['netns', 'exec', namespace, file, ...args]];

export async function links(namespace: string | undefined): Promise<Link[]> {
  return parseLinks((await ip(namespace, ['-j', '-d', 'link', 'show'])).stdout);
}

export async function link(namespace: string | undefined, name: string): Promise<Link | undefined> {
  try {
    return parseLinks((await ip(namespace, ['-j', '-d', 'link', 'show', 'dev', name])).stdout)[0];
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

export async function addBridge(namespace: string, name: string): Promise<void> {
  await ip(namespace, ['link', 'add', 'name', name, 'type', 'bridge']);
}

/** A veth pair: `name` (with `mac`) stays in `namespace`, `peerName` is created directly in `peerNamespace`. */
export async function addVethPair(
  namespace: string,
  name: string,
  mac: string,
  peerName: string,
  peerNamespace: string,
): Promise<void> {
  await ip(namespace, [
    'link',
    'add',
    'name',
    name,
    'address',
    mac,
    'type',
    'veth',
    'peer',
    'name',
    peerName,
    'netns',
    peerNamespace,
  ]);
}

export async function addTap(namespace: string, name: string): Promise<void> {
  await ip(namespace, ['tuntap', 'add', 'dev', name, 'mode', 'tap']);
}

export interface LinkChange {
  mac?: string;
  master?: string;
  alias?: string;
  up?: boolean;
  /** Stops IPv6 link-local addresses (and the traffic they cause) on links that carry only guest frames. */
  noIpv6LinkLocal?: boolean;
}

export async function setLink(
  namespace: string | undefined,
  name: string,
  change: LinkChange,
): Promise<void> {
  const args = ['link', 'set', 'dev', name];
  if (change.mac !== undefined) args.push('address', change.mac);
  if (change.master !== undefined) args.push('master', change.master);
  if (change.alias !== undefined) args.push('alias', change.alias);
  if (change.noIpv6LinkLocal) args.push('addrgenmode', 'none');
  if (change.up === true) args.push('up');
  if (change.up === false) args.push('down');
  await ip(namespace, args);
}

export async function deleteLink(namespace: string | undefined, name: string): Promise<void> {
  try {
    await ip(namespace, ['link', 'delete', 'dev', name]);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}

export async function addresses(namespace: string | undefined, device: string): Promise<Address[]> {
  return parseAddresses((await ip(namespace, ['-j', 'addr', 'show', 'dev', device])).stdout);
}

/** Makes `cidr` (e.g. 198.18.3.1/24) the only IPv4 address of the device. */
export async function setIpv4Address(
  namespace: string,
  device: string,
  cidr: string,
): Promise<void> {
  const [local, prefix] = cidr.split('/');
  const current = (await addresses(namespace, device)).filter(
    (address) => address.family === 'inet',
  );
  if (
    current.length === 1 &&
    current[0]!.local === local &&
    String(current[0]!.prefixlen) === prefix
  )
    return;
  await ip(namespace, ['-4', 'addr', 'flush', 'dev', device]);
  await ip(namespace, ['addr', 'add', cidr, 'dev', device]);
}
