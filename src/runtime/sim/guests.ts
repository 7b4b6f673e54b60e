// Guests in the sim, the launcher role: a guest's NICs plugged into its pod's ports with the platform's MACs, its
// disks attached, booted after the runtime's boot time; power-off and a simulated crash.
import type { GuestSpec } from '../types.ts';
import { isAssignableMac, normalizeMac } from './ethernet.ts';
import { attachDisks } from './guest-disks.ts';
import { newGuest } from './guest-machine.ts';
import { zeroCounters } from './l2.ts';
import { powerOff, scheduleBoot } from './power.ts';
import {
  describe,
  isLive,
  type PodPort,
  type SimGuest,
  type SimNic,
  type SimWorld,
} from './world.ts';

export function startGuest(world: SimWorld, spec: GuestSpec): void {
  const existing = world.guests.get(spec.vmiUid);
  if (existing && isLive(existing.state)) return;
  const where = `guest ${spec.namespace}/${spec.name} (vmi ${spec.vmiUid})`;
  const pod = world.pods.get(spec.podUid);
  if (!pod) throw new Error(`${where}: pod ${spec.podUid} is not set up on this host`);
  const guest: SimGuest = existing ?? newGuest(world, spec);
  const ports: PodPort[] = [];
  const nics = spec.nics.map((nicSpec, i): SimNic => {
    const field = `nics[${i}]`;
    const mac = normalizeMac(nicSpec.mac);
    if (!mac || !isAssignableMac(mac))
      throw new Error(`${where}: ${field}.mac '${nicSpec.mac}' is not a unicast MAC address`);
    const port = pod.ports.get(nicSpec.podInterfaceName);
    if (!port)
      throw new Error(
        `${where}: ${field}.podInterfaceName ${nicSpec.podInterfaceName} does not exist in pod ${spec.podUid}`,
      );
    if (port.network.spec.id !== nicSpec.networkId) {
      throw new Error(
        `${where}: ${field}.networkId ${nicSpec.networkId} is not the network of pod interface ${nicSpec.podInterfaceName} (${port.network.spec.id})`,
      );
    }
    if (ports.includes(port))
      throw new Error(
        `${where}: ${field}.podInterfaceName ${nicSpec.podInterfaceName} is used twice`,
      );
    const holder = port.nic?.guest;
    if (holder && holder !== guest && isLive(holder.state)) {
      throw new Error(
        `${where}: ${field}.podInterfaceName ${nicSpec.podInterfaceName} is in use by ${describe(holder)}`,
      );
    }
    ports.push(port);
    return {
      guest,
      name: nicSpec.name,
      kernelName: `eth${i}`,
      ifName: `eth${i}`,
      ifIndex: i + 2,
      podInterfaceName: nicSpec.podInterfaceName,
      deviceMac: mac,
      guestMac: mac,
      up: false,
      ipv4: undefined,
      counters: zeroCounters(),
    };
  });
  if (existing && existing.spec.podUid !== spec.podUid)
    world.pods.get(existing.spec.podUid)?.guests.delete(spec.vmiUid);
  const storage = attachDisks(spec, (id) => world.disks.get(id));
  guest.spec = structuredClone(spec);
  guest.nics = nics;
  guest.files = storage.root;
  guest.devices = storage.devices;
  guest.state = 'Starting';
  guest.reason = undefined;
  guest.agentConnected = false;
  guest.bootEpoch++;
  nics.forEach((nic, i) => {
    const port = ports[i];
    if (port) port.nic = nic;
  });
  world.guests.set(spec.vmiUid, guest);
  pod.guests.add(spec.vmiUid);
  scheduleBoot(world, guest);
}

export function stopGuest(world: SimWorld, vmiUid: string): void {
  const guest = world.guests.get(vmiUid);
  // The simulated busybox guest honours ACPI power-off at once, so graceMs never runs out.
  if (guest && isLive(guest.state)) powerOff(world, guest, 'Stopped', 'guest powered off');
}

/** The guest's process dies: state Failed and a guest-failed event. */
export function crashGuest(world: SimWorld, vmiUid: string, reason: string): void {
  const guest = world.guests.get(vmiUid);
  if (!guest) throw new Error(`crash: no guest with vmi uid ${vmiUid}`);
  if (!isLive(guest.state))
    throw new Error(`crash: ${describe(guest)} is ${guest.state}, not running`);
  powerOff(world, guest, 'Failed', reason);
}
