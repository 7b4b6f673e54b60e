// Pods in the sim, the CNI role: a port per pod interface on its network's bridge, with the platform's MAC, which the
// spoof check holds the guest's frames to.
import { checkFixedAddress } from '../network-spec.ts';
import type { PodInterfaceStatus, PodNetworkRequest } from '../types.ts';
import { isAssignableMac, normalizeMac } from './ethernet.ts';
import { powerOff } from './power.ts';
import { isLive, type PodPort, type SimPod, type SimWorld } from './world.ts';

export function setupPod(world: SimWorld, request: PodNetworkRequest): PodInterfaceStatus[] {
  const where = `pod ${request.namespace}/${request.podName} (${request.podUid})`;
  const normalized = request.interfaces.map((iface, i) => {
    const field = `interfaces[${i}]`;
    const mac = normalizeMac(iface.mac);
    if (!mac) throw new Error(`${where}: ${field}.mac '${iface.mac}' is not a MAC address`);
    if (!isAssignableMac(mac))
      throw new Error(
        `${where}: ${field}.mac ${mac} is multicast or zero and cannot be set on an interface`,
      );
    const network = world.networks.get(iface.network.id);
    if (!network)
      throw new Error(
        `${where}: ${field}.network ${iface.network.name} (${iface.network.id}) does not exist on this host`,
      );
    if (!iface.podInterfaceName) throw new Error(`${where}: ${field}.podInterfaceName is required`);
    const ip =
      iface.ipAddress === undefined
        ? undefined
        : checkFixedAddress(network.spec, `${field}.ipAddress`, iface.ipAddress);
    return { iface, mac, network, ip };
  });
  const names = new Set<string>();
  for (const [i, { iface }] of normalized.entries()) {
    if (names.has(iface.podInterfaceName))
      throw new Error(
        `${where}: interfaces[${i}].podInterfaceName ${iface.podInterfaceName} is used twice`,
      );
    names.add(iface.podInterfaceName);
  }
  const requestKey = JSON.stringify(
    normalized.map(({ iface, mac }) => [
      iface.name,
      iface.podInterfaceName,
      mac,
      iface.network.id,
      iface.binding,
      iface.ipAddress,
    ]),
  );
  const existing = world.pods.get(request.podUid);
  if (existing) {
    if (existing.requestKey !== requestKey)
      throw new Error(`${where}: already set up with other interfaces; tear it down first`);
    return structuredClone(existing.statuses);
  }
  const pod: SimPod = {
    uid: request.podUid,
    requestKey,
    ports: new Map(),
    statuses: [],
    guests: new Set(),
  };
  for (const { iface, mac, network, ip } of normalized) {
    // dnsmasq's dhcp-host: the fixed address follows the interface to its MAC (see PodInterfaceRequest.ipAddress).
    if (ip !== undefined) network.dhcp.reserve(mac, ip);
    else network.dhcp.unreserve(mac);
    const port: PodPort = {
      network,
      podInterfaceName: iface.podInterfaceName,
      mac,
      nic: undefined,
    };
    pod.ports.set(iface.podInterfaceName, port);
    let sameMac = network.portsByMac.get(mac);
    if (!sameMac) network.portsByMac.set(mac, (sameMac = new Set()));
    sameMac.add(port);
    pod.statuses.push({
      name: iface.name,
      networkName: network.spec.name,
      podInterfaceName: iface.podInterfaceName,
      mac,
    });
  }
  world.pods.set(pod.uid, pod);
  return structuredClone(pod.statuses);
}

export function teardownPod(world: SimWorld, podUid: string): void {
  const pod = world.pods.get(podUid);
  if (!pod) return;
  // Deleting the launcher pod takes its guest with it.
  for (const vmiUid of pod.guests) {
    const guest = world.guests.get(vmiUid);
    if (!guest) continue;
    if (isLive(guest.state)) powerOff(world, guest, 'Stopped', 'launcher pod deleted');
    guest.console.closeAll('the launcher pod was deleted');
    world.guests.delete(vmiUid);
  }
  for (const port of pod.ports.values()) {
    const sameMac = port.network.portsByMac.get(port.mac);
    sameMac?.delete(port);
    if (sameMac?.size === 0) port.network.portsByMac.delete(port.mac);
  }
  world.pods.delete(podUid);
}
