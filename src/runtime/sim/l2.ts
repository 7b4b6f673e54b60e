// The sim's L2 world: which frames a guest NIC gets onto its network (guest running, link up, the pod port's spoof
// check, a bridge), DHCP through the network's server, ARP and ICMP echo, and the NICs' counters.
import { formatIpv4 } from '../../ip/ipv4.ts';
import type { NicCounters } from '../types.ts';
import type { DhcpOutcome } from './busybox/guest-os.ts';
import type { PodPort, SimNetwork, SimNic, SimWorld } from './world.ts';

// Frame sizes on the wire (Ethernet header included): a DHCP message with BOOTP's 300-byte minimum payload, as udhcpc
// sends, and an ICMP echo carrying `dataBytes`.
const DHCP_FRAME_BYTES = 14 + 20 + 8 + 300;
const echoFrameBytes = (dataBytes: number): number => 14 + 20 + 8 + dataBytes;

export const zeroCounters = (): NicCounters => ({
  rxBytes: 0,
  rxPackets: 0,
  rxErrors: 0,
  rxDropped: 0,
  txBytes: 0,
  txPackets: 0,
  txErrors: 0,
  txDropped: 0,
});

/** The pod port a NIC is plugged into, while it is. */
export function portOf(world: SimWorld, nic: SimNic): PodPort | undefined {
  const port = world.pods.get(nic.guest.spec.podUid)?.ports.get(nic.podInterfaceName);
  return port?.nic === nic ? port : undefined;
}

/** The network a NIC's frames reach, or undefined when they are dropped (guest down, link down, spoof check, no bridge). */
function transmits(world: SimWorld, nic: SimNic): SimNetwork | undefined {
  if (nic.guest.state !== 'Running' || !nic.up) return undefined;
  const port = portOf(world, nic);
  if (!port || port.mac !== nic.guestMac) return undefined;
  return world.networks.get(port.network.spec.id) === port.network ? port.network : undefined;
}

/** The guest puts a frame on its NIC: counted as sent whether or not the spoof check lets it through. */
function send(nic: SimNic, bytes: number): void {
  if (nic.guest.state !== 'Running' || !nic.up) return;
  nic.counters.txPackets++;
  nic.counters.txBytes += bytes;
}

function receive(nic: SimNic, bytes: number): void {
  nic.counters.rxPackets++;
  nic.counters.rxBytes += bytes;
}

export function setIpv4(nic: SimNic, ipv4: SimNic['ipv4']): void {
  if (nic.ipv4) nic.ipv4.network.nicsByIp.get(nic.ipv4.ip)?.delete(nic);
  nic.ipv4 = ipv4;
  if (!ipv4) return;
  let holders = ipv4.network.nicsByIp.get(ipv4.ip);
  if (!holders) ipv4.network.nicsByIp.set(ipv4.ip, (holders = new Set()));
  holders.add(nic);
}

export function runDhcp(world: SimWorld, nic: SimNic): DhcpOutcome {
  // udhcpc's script deconfigures the interface and brings it up before the first DISCOVER.
  setIpv4(nic, undefined);
  nic.up = true;
  send(nic, DHCP_FRAME_BYTES); // DISCOVER
  const network = transmits(world, nic);
  const binding = network?.dhcp.bind(nic.guestMac);
  if (!network || !binding) return { bound: false };
  // OFFER, REQUEST, ACK.
  receive(nic, DHCP_FRAME_BYTES);
  send(nic, DHCP_FRAME_BYTES);
  receive(nic, DHCP_FRAME_BYTES);
  setIpv4(nic, { ip: binding.ip, network });
  return {
    bound: true,
    address: formatIpv4(binding.ip),
    server: formatIpv4(network.gateway),
    leaseSeconds: binding.leaseSeconds,
  };
}

/** Whether a guest still uses the lease of `mac` and its frames get through, so its DHCP client renews it. */
export function leaseHolderOnline(
  world: SimWorld,
  network: SimNetwork,
  mac: string,
  ip: number,
): boolean {
  for (const port of network.portsByMac.get(mac) ?? []) {
    const nic = port.nic;
    if (
      nic &&
      nic.guestMac === mac &&
      nic.ipv4?.ip === ip &&
      nic.ipv4.network === network &&
      transmits(world, nic) === network
    )
      return true;
  }
  return false;
}

/** An ICMP echo from `nic` to `target` (the gateway or another guest on the same network); whether it came back. */
export function echo(world: SimWorld, nic: SimNic, target: number, dataBytes: number): boolean {
  const frame = echoFrameBytes(dataBytes);
  send(nic, frame);
  const network = transmits(world, nic);
  if (!network || nic.ipv4?.network !== network) return false;
  if (target === network.gateway) {
    receive(nic, frame);
    return true;
  }
  for (const holder of network.nicsByIp.get(target) ?? []) {
    if (holder !== nic && transmits(world, holder) === network) {
      receive(holder, frame);
      send(holder, frame);
      receive(nic, frame);
      return true;
    }
  }
  return false;
}
