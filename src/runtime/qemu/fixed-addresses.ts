// A network's fixed addresses on qemu: dnsmasq's dhcp-host lines, kept so that each address follows its interface to
// the interface's current MAC, with the leases in the way given back (PodInterfaceRequest.ipAddress), and dropped with
// their leases once no VM holds the address (Runtime.pruneFixedAddresses).
import { setTimeout as sleep } from 'node:timers/promises';
import { readHosts, readLeases, releaseLease, writeHosts } from './dnsmasq.ts';

export interface DnsmasqOfNetwork {
  /** The host namespace the bridge and dnsmasq live in. */
  namespace: string;
  bridge: string;
  hostsFile: string;
  leaseFile: string;
  /** Starts the network's dnsmasq again with the hosts file's fixed addresses; resolves with whether one runs. */
  restart(): Promise<boolean>;
}

/** How long a released lease may take to leave dnsmasq's lease file. */
const RELEASE_WAIT_MS = 5_000;

/**
 * Makes `ip` the fixed address of `mac` (undefined: `mac` has none): rewrites the hosts file when it changes and starts
 * dnsmasq again with it (its leases are kept in the lease file), then releases `ip`'s lease held by another MAC and `mac`'s lease on another address, and waits
 * until the lease file shows them gone, so the guest that boots next is offered `ip`.
 */
export async function applyFixedAddress(
  dnsmasq: DnsmasqOfNetwork,
  mac: string,
  ip: string | undefined,
): Promise<void> {
  const hosts = await readHosts(dnsmasq.hostsFile);
  const next = hosts.filter((h) => h.mac !== mac && h.ip !== ip);
  if (ip !== undefined) next.push({ mac, ip });
  if (JSON.stringify(next) === JSON.stringify(hosts) && ip === undefined) return;
  if (JSON.stringify(next) !== JSON.stringify(hosts)) await writeHosts(dnsmasq.hostsFile, next);
  const running = await dnsmasq.restart();
  if (ip === undefined || !running) return;
  await releaseLeases(
    dnsmasq,
    (await readLeases(dnsmasq.leaseFile)).filter(
      (l) => (l.ip === ip && l.mac !== mac) || (l.mac === mac && l.ip !== ip),
    ),
  );
}

/**
 * Runtime.pruneFixedAddresses: the dhcp-host lines of addresses not in `keep` go (dnsmasq starts again without them)
 * and the leases their MACs hold are released. Resolves with the addresses given back.
 */
export async function pruneFixedAddresses(
  dnsmasq: DnsmasqOfNetwork,
  keep: readonly string[],
): Promise<string[]> {
  const hosts = await readHosts(dnsmasq.hostsFile);
  const dropped = hosts.filter((h) => !keep.includes(h.ip));
  if (dropped.length === 0) return [];
  await writeHosts(
    dnsmasq.hostsFile,
    hosts.filter((h) => keep.includes(h.ip)),
  );
  if (await dnsmasq.restart())
    await releaseLeases(
      dnsmasq,
      (await readLeases(dnsmasq.leaseFile)).filter((l) => dropped.some((d) => d.mac === l.mac)),
    );
  return dropped.map((h) => h.ip);
}

/** Releases `leases` (dhcp_release) and waits until the lease file shows them gone. */
async function releaseLeases(
  dnsmasq: DnsmasqOfNetwork,
  leases: ReadonlyArray<{ mac: string; ip: string }>,
): Promise<void> {
  for (const lease of leases)
    await releaseLease(dnsmasq.namespace, dnsmasq.bridge, lease.ip, lease.mac);
  const deadline = Date.now() + RELEASE_WAIT_MS;
  while (leases.length > 0 && Date.now() < deadline) {
    const now = await readLeases(dnsmasq.leaseFile);
    if (!leases.some((w) => now.some((l) => l.mac === w.mac && l.ip === w.ip))) return;
    await sleep(100);
  }
}
