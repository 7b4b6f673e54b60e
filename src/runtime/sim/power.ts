// A sim guest's power: boot (the guest's own network configuration runs, then its agent connects), the reset a power
// cycle or reboot makes, and power-off.
import { bootNetworkPlan } from './guest-network.ts';
import { portOf, runDhcp, setIpv4 } from './l2.ts';
import { emit, type SimGuest, type SimWorld } from './world.ts';

function boot(world: SimWorld, guest: SimGuest, epoch: number): void {
  if (world.closed || world.guests.get(guest.spec.vmiUid) !== guest || guest.bootEpoch !== epoch)
    return;
  guest.state = 'Running';
  // The guest's own configuration names its NICs, may set their MACs (it does so at every boot, so a restart does
  // not undo it) and brings up the ones it configures with DHCP; then qemu-guest-agent starts.
  const plans = bootNetworkPlan(
    guest.files,
    guest.nics.map((n) => ({ kernelName: n.kernelName, mac: n.deviceMac })),
  );
  guest.nics.forEach((nic, i) => {
    const plan = plans[i];
    if (!plan) return;
    nic.ifName = plan.name;
    nic.guestMac = plan.mac;
    if (plan.dhcp) runDhcp(world, nic);
  });
  guest.agentConnected = true;
  guest.shell.boot();
  emit(world, { type: 'guest-changed', vmiUid: guest.spec.vmiUid });
}

/** The guest boots after the runtime's boot time, unless its power changes first. */
export function scheduleBoot(world: SimWorld, guest: SimGuest): void {
  const epoch = guest.bootEpoch;
  world.boots.schedule(() => boot(world, guest, epoch));
}

/** Resets what a power cycle resets: virtio-net reloads the device MAC, the guest's addresses and agent are gone. */
export function resetMachine(guest: SimGuest): void {
  guest.agentConnected = false;
  guest.bootEpoch++;
  for (const nic of guest.nics) {
    setIpv4(nic, undefined);
    nic.guestMac = nic.deviceMac;
    nic.ifName = nic.kernelName;
    nic.up = false;
  }
}

export function powerOff(
  world: SimWorld,
  guest: SimGuest,
  state: 'Stopped' | 'Failed',
  reason: string,
): void {
  resetMachine(guest);
  guest.state = state;
  guest.reason = reason;
  for (const nic of guest.nics) {
    const port = portOf(world, nic);
    if (port) port.nic = undefined;
  }
  guest.console.closeAll(`the guest stopped (${reason})`);
  emit(
    world,
    state === 'Stopped'
      ? { type: 'guest-stopped', vmiUid: guest.spec.vmiUid, reason }
      : { type: 'guest-failed', vmiUid: guest.spec.vmiUid, reason },
  );
}
