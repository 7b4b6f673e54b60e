// Networks on a qemu host: a bridge with the gateway address and a DHCP server (dnsmasq) in the host namespace, and,
// across hosts, a VXLAN per network to the other hosts' bridges.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { netmask } from '../../ip/ipv4.ts';
import type { Lease, NetworkSpec } from '../types.ts';
import { dnsmasqOf, readHosts, readLeases, startDnsmasq } from './dnsmasq.ts';
import { pruneFixedAddresses, type DnsmasqOfNetwork } from './fixed-addresses.ts';
import { dnsmasqPid, networkFilesOf, type QemuHost } from './host.ts';
import { addBridge, deleteLink, link, setIpv4Address, setLink } from './ip.ts';
import { bridgeName, networkAlias, networkIdOfAlias } from './names.ts';
import { checkNetworkSpec } from './network-spec.ts';
import { commandLine, terminate } from './procfs.ts';
import { ensureVxlan, removeVxlan, setVxlanPeers as setVxlanPeersOf } from './vxlan.ts';

export async function ensureNetwork(host: QemuHost, input: NetworkSpec): Promise<void> {
  const { hostNs, networks } = host;
  const { spec, cidr } = checkNetworkSpec(input);
  await host.lock.run(`network/${spec.id}`, async () => {
    const files = networkFilesOf(host, spec.id);
    const bridge = bridgeName(spec.id);
    const previous = networks.get(spec.id);
    if (previous && (previous.cidr !== spec.cidr || previous.gateway !== spec.gateway)) {
      throw new Error(
        `network ${spec.name} (${spec.id}): cidr and gateway of an existing network cannot change; remove it first`,
      );
    }
    const existing = await link(hostNs, bridge);
    if (existing && networkIdOfAlias(existing.alias) !== spec.id) {
      throw new Error(
        `network ${spec.name} (${spec.id}): bridge ${bridge} already serves network ${networkIdOfAlias(existing.alias) ?? '(unknown)'}`,
      );
    }
    if (!existing) await addBridge(hostNs, bridge);
    // Without a port a bridge stays down, but dnsmasq can bind to it and answers once the first pod joins.
    await setLink(hostNs, bridge, {
      alias: networkAlias(spec.id),
      noIpv6LinkLocal: true,
      up: true,
    });
    await setIpv4Address(hostNs, bridge, `${spec.gateway}/${cidr.prefix}`);
    if (host.localUnderlayIp) {
      await ensureVxlan(hostNs, spec.id, bridge, host.localUnderlayIp);
      await setVxlanPeersOf(hostNs, spec.id, host.vxlanPeers);
    }
    await mkdir(files.dir, { recursive: true, mode: 0o700 });
    await syncDnsmasq(
      host,
      spec,
      previous === undefined || JSON.stringify(previous) !== JSON.stringify(spec),
    );
    await writeFile(files.spec, JSON.stringify(spec, null, 2));
    networks.set(spec.id, structuredClone(spec));
  });
}

/**
 * Runs the network's dnsmasq with its spec and the fixed addresses of its hosts file: started when none runs, started
 * again when `changed` or when the running one serves other fixed addresses (its leases stay in the lease file).
 * Resolves with whether one runs. The caller holds `network/<id>`.
 */
export async function syncDnsmasq(
  host: QemuHost,
  spec: NetworkSpec,
  changed: boolean,
): Promise<boolean> {
  const files = networkFilesOf(host, spec.id);
  const hosts = await readHosts(files.hosts);
  const running = await dnsmasqPid(host, spec.id);
  const served = running ? (dnsmasqOf((await commandLine(running)) ?? []).hosts ?? []) : [];
  if (running && !changed && JSON.stringify(served) === JSON.stringify(hosts)) return true;
  if (running) await terminate(running);
  await startDnsmasq(host.hostNs, {
    bridge: bridgeName(spec.id),
    gateway: spec.gateway,
    rangeStart: spec.dhcpRange.start,
    rangeEnd: spec.dhcpRange.end,
    netmask: netmask(checkNetworkSpec(spec).cidr.prefix),
    leaseFile: files.leases,
    hosts,
    pidFile: files.pid,
    logFile: files.log,
  });
  return true;
}

/** The network's dnsmasq as its fixed addresses are kept (fixed-addresses.ts); the caller holds `network/<id>`. */
export function dnsmasqOfNetwork(host: QemuHost, spec: NetworkSpec): DnsmasqOfNetwork {
  const files = networkFilesOf(host, spec.id);
  return {
    namespace: host.hostNs,
    bridge: bridgeName(spec.id),
    hostsFile: files.hosts,
    leaseFile: files.leases,
    restart: () => syncDnsmasq(host, host.networks.get(spec.id) ?? spec, false),
  };
}

/** Runtime.pruneFixedAddresses on this host. */
export async function pruneNetworkFixedAddresses(
  host: QemuHost,
  networkId: string,
  keep: readonly string[],
): Promise<string[]> {
  return host.lock.run(`network/${networkId}`, async () => {
    const spec = host.networks.get(networkId);
    return spec ? pruneFixedAddresses(dnsmasqOfNetwork(host, spec), keep) : [];
  });
}

/** Removes a network's dnsmasq, VXLAN, bridge and record; the caller holds `network/<id>`. */
export async function removeNetworkNow(host: QemuHost, networkId: string): Promise<void> {
  const files = networkFilesOf(host, networkId);
  const pid = await dnsmasqPid(host, networkId);
  if (pid) await terminate(pid);
  await removeVxlan(host.hostNs, networkId);
  await deleteLink(host.hostNs, bridgeName(networkId));
  await rm(files.dir, { recursive: true, force: true });
  host.networks.delete(networkId);
}

/** The DHCP leases dnsmasq handed out on a network this runtime knows. */
export async function networkLeases(host: QemuHost, networkId: string): Promise<Lease[]> {
  if (!host.networks.has(networkId)) return [];
  return readLeases(networkFilesOf(host, networkId).leases);
}

/** Every network's VXLAN floods to exactly `peers` (the other hosts' underlay addresses). */
export async function setVxlanPeers(host: QemuHost, peers: readonly string[]): Promise<void> {
  const local = host.localUnderlayIp;
  if (!local)
    throw new Error(
      'setVxlanPeers: this runtime has no underlay (createQemuRuntime underlay option)',
    );
  host.vxlanPeers = [...new Set(peers)].filter((p) => p !== local).sort();
  for (const id of host.networks.keys())
    await host.lock.run(`network/${id}`, () => setVxlanPeersOf(host.hostNs, id, host.vxlanPeers));
}
