// Networks in the sim: a bridge with a DHCP server handing out the network's range.
import type { Lease, NetworkSpec } from '../types.ts';
import { checkNetworkSpec } from '../network-spec.ts';
import { DhcpServer } from './dhcp-server.ts';
import { leaseHolderOnline } from './l2.ts';
import type { SimNetwork, SimWorld } from './world.ts';

export function ensureNetwork(world: SimWorld, spec: NetworkSpec): void {
  const { cidr, gateway, dhcpRange } = checkNetworkSpec(spec);
  const where = `network ${spec.name} (${spec.id})`;
  const pool = { ...dhcpRange, gateway };

  const existing = world.networks.get(spec.id);
  if (existing) {
    if (JSON.stringify(existing.spec) === JSON.stringify(spec)) return;
    if (
      existing.cidr.network !== cidr.network ||
      existing.cidr.prefix !== cidr.prefix ||
      existing.gateway !== gateway
    ) {
      throw new Error(
        `${where}: cidr and gateway of an existing network cannot change; remove it first`,
      );
    }
    existing.spec = structuredClone(spec);
    existing.dhcp.reconfigure(pool);
    return;
  }
  const network: SimNetwork = {
    spec: structuredClone(spec),
    cidr,
    gateway,
    dhcp: new DhcpServer(pool, world.leaseSeconds, world.clock, (mac, ip) =>
      leaseHolderOnline(world, network, mac, ip),
    ),
    portsByMac: new Map(),
    nicsByIp: new Map(),
  };
  world.networks.set(spec.id, network);
}

export function removeNetwork(world: SimWorld, networkId: string): void {
  // The bridge and dnsmasq go; ports stay detached from any bridge re-created under the same id.
  world.networks.delete(networkId);
}

export function networkLeases(
  world: SimWorld,
  networkId: string,
  macs?: readonly string[],
): Lease[] {
  return world.networks.get(networkId)?.dhcp.list(macs) ?? [];
}

/** Runtime.pruneFixedAddresses: the reservations on addresses not in `keep` go, with their MACs' leases. */
export function pruneFixedAddresses(
  world: SimWorld,
  networkId: string,
  keep: readonly string[],
): string[] {
  const dhcp = world.networks.get(networkId)?.dhcp;
  if (!dhcp) return [];
  const dropped = dhcp.reservations().filter((r) => !keep.includes(r.ip));
  for (const r of dropped) {
    dhcp.unreserve(r.mac);
    dhcp.release(r.mac);
  }
  return dropped.map((r) => r.ip);
}
