// Networks spanning hosts: each network's bridge gets a unicast VXLAN port whose static FDB floods to the other hosts'
// underlay addresses; DHCP stays on its own host (each host's dnsmasq serves, and sees the leases of, its own guests).
import { createHash } from 'node:crypto';
import { formatIpv4, parseInterfaceAddress } from '../../ip/ipv4.ts';
import { CommandError, run } from './command.ts';
import { deleteLink, inNamespace, link, setIpv4Address, setLink } from './ip.ts';

export const VXLAN_PORT = 4789;
/** The underlay device in the host namespace. */
export const UNDERLAY_DEVICE = 'underlay0';
/** Room for the VXLAN header (50 bytes) on top of the guests' 1500. */
const UNDERLAY_MTU = 1600;
const FILTER_TABLE = 'harrow_vxlan';
const ZERO_MAC = '00:00:00:00:00:00';

/** The VXLAN id of a network: 24 bits of a hash of its id, the same on every host. */
export function vniOf(networkId: string): number {
  const n = createHash('sha256').update(networkId).digest().readUIntBE(0, 3);
  return n === 0 ? 1 : n;
}

/** `vx` + 12 hex of the network id's hash: the kernel allows 15 bytes and the id can be longer. */
export const vxlanName = (networkId: string): string =>
  `vx${createHash('sha256').update(networkId).digest('hex').slice(0, 12)}`;

/** The root-namespace end of an instance's underlay veth. */
export const underlayPeerName = (instanceId: string): string =>
  `hu${createHash('sha256').update(instanceId).digest('hex').slice(0, 12)}`;

export interface Underlay {
  /** This host's underlay address with its prefix, e.g. 198.19.0.11/24. */
  address: string;
  /** A bridge in the root namespace joining the hosts' underlays (on one machine: the test "switch"). */
  bridge: string;
}

const parseCidr = (cidr: string): { ip: string; prefix: number } => {
  const parsed = parseInterfaceAddress(cidr);
  if (!parsed) {
    throw new Error(
      `underlay.address ${JSON.stringify(cidr)}: expected an IPv4 address with a prefix, e.g. 198.19.0.11/24`,
    );
  }
  return { ip: formatIpv4(parsed.address), prefix: parsed.prefix };
};

export const underlayIp = (underlay: Underlay): string => parseCidr(underlay.address).ip;

/** DHCP never crosses a VXLAN port: in from it, out to it, nor from the host's own dnsmasq. */
const filterRuleset = `table bridge ${FILTER_TABLE} {
  chain prerouting {
    type filter hook prerouting priority -300; policy accept;
    iifname "vx*" udp dport { 67, 68 } drop
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    oifname "vx*" udp dport { 67, 68 } drop
  }
  chain output {
    type filter hook output priority 0; policy accept;
    oifname "vx*" udp dport { 67, 68 } drop
  }
}
`;

/** A veth from the host namespace (UNDERLAY_DEVICE with the address) to the root namespace's `bridge`. Idempotent. */
export async function ensureUnderlay(
  hostNs: string,
  instanceId: string,
  underlay: Underlay,
): Promise<void> {
  const { ip, prefix } = parseCidr(underlay.address);
  if (!(await link(undefined, underlay.bridge)))
    throw new Error(`underlay.bridge ${underlay.bridge}: no such bridge in the root namespace`);
  const peer = underlayPeerName(instanceId);
  if (!(await link(hostNs, UNDERLAY_DEVICE))) {
    await deleteLink(undefined, peer);
    await run('ip', [
      'link',
      'add',
      'name',
      peer,
      'mtu',
      String(UNDERLAY_MTU),
      'type',
      'veth',
      'peer',
      'name',
      UNDERLAY_DEVICE,
      'netns',
      hostNs,
      'mtu',
      String(UNDERLAY_MTU),
    ]);
  }
  await setLink(undefined, peer, { master: underlay.bridge, up: true, noIpv6LinkLocal: true });
  await setIpv4Address(hostNs, UNDERLAY_DEVICE, `${ip}/${prefix}`);
  await setLink(hostNs, UNDERLAY_DEVICE, { up: true });
  await run('ip', ['-n', hostNs, 'link', 'set', 'dev', 'lo', 'up']);
  const [file, args] = inNamespace(hostNs, 'nft', ['list', 'table', 'bridge', FILTER_TABLE]);
  try {
    await run(file, args);
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    const [f, a] = inNamespace(hostNs, 'nft', ['-f', '-']);
    await run(f, a, { input: filterRuleset });
  }
}

/** The network's VXLAN port on its bridge. Idempotent. */
export async function ensureVxlan(
  hostNs: string,
  networkId: string,
  bridge: string,
  localIp: string,
): Promise<void> {
  const name = vxlanName(networkId);
  if (!(await link(hostNs, name))) {
    await run('ip', [
      '-n',
      hostNs,
      'link',
      'add',
      'name',
      name,
      'type',
      'vxlan',
      'id',
      String(vniOf(networkId)),
      'local',
      localIp,
      'dstport',
      String(VXLAN_PORT),
      'nolearning',
    ]);
  }
  await setLink(hostNs, name, { master: bridge, up: true, noIpv6LinkLocal: true });
}

export async function removeVxlan(hostNs: string, networkId: string): Promise<void> {
  await deleteLink(hostNs, vxlanName(networkId));
}

async function floodPeers(hostNs: string, device: string): Promise<string[]> {
  const [file, args] = inNamespace(hostNs, 'bridge', ['-j', 'fdb', 'show', 'dev', device]);
  const entries = JSON.parse((await run(file, args)).stdout || '[]') as Array<{
    mac?: string;
    dst?: string;
  }>;
  return entries.filter((e) => e.mac === ZERO_MAC && e.dst).map((e) => e.dst as string);
}

/** Head-end replication: broadcast, unknown unicast and multicast go to exactly these peers. */
export async function setVxlanPeers(
  hostNs: string,
  networkId: string,
  peers: readonly string[],
): Promise<void> {
  const device = vxlanName(networkId);
  const current = new Set(await floodPeers(hostNs, device));
  const wanted = new Set(peers);
  for (const peer of wanted) {
    if (current.has(peer)) continue;
    const [file, args] = inNamespace(hostNs, 'bridge', [
      'fdb',
      'append',
      ZERO_MAC,
      'dev',
      device,
      'dst',
      peer,
    ]);
    await run(file, args);
  }
  for (const peer of current) {
    if (wanted.has(peer)) continue;
    const [file, args] = inNamespace(hostNs, 'bridge', [
      'fdb',
      'del',
      ZERO_MAC,
      'dev',
      device,
      'dst',
      peer,
    ]);
    await run(file, args);
  }
}
