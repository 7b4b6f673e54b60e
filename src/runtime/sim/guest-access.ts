// What reaches into a sim guest from outside: what it uses (device and guest MACs, the agent's view, for drift), its
// NICs' counters, guest-exec through the agent, and its serial console.
import { formatIpv4 } from '../../ip/ipv4.ts';
import type {
  ConsoleConnection,
  ConsoleHandlers,
  ConsoleOptions,
  ExecResult,
  GuestNicStatistics,
  GuestObservation,
} from '../types.ts';
import { runInGuest } from './guest-machine.ts';
import { describe, isLive, type SimWorld } from './world.ts';

export function observeGuest(world: SimWorld, vmiUid: string): GuestObservation | undefined {
  const guest = world.guests.get(vmiUid);
  if (!guest) return undefined;
  const observation: GuestObservation = {
    state: guest.state,
    nics: guest.nics.map((n) => ({
      name: n.name,
      deviceMac: n.deviceMac,
      guestMac: n.guestMac,
    })),
  };
  if (guest.reason !== undefined) observation.reason = guest.reason;
  if (guest.state === 'Running' && guest.agentConnected) {
    observation.agent = {
      interfaces: guest.nics.map((n) => ({
        interfaceName: n.ifName,
        mac: n.guestMac,
        ipAddresses: n.ipv4 ? [formatIpv4(n.ipv4.ip)] : [],
      })),
    };
  }
  return observation;
}

export function guestNicStatistics(
  world: SimWorld,
  vmiUid: string,
): GuestNicStatistics[] | undefined {
  const guest = world.guests.get(vmiUid);
  if (!guest || !isLive(guest.state)) return undefined;
  return guest.nics.map((n) => ({ name: n.name, ...n.counters }));
}

export function guestExec(world: SimWorld, vmiUid: string, argv: string[]): ExecResult {
  const guest = world.guests.get(vmiUid);
  if (!guest) throw new Error(`guest-exec: no guest with vmi uid ${vmiUid} on this host`);
  if (guest.state !== 'Running' || !guest.agentConnected) {
    const why = guest.state === 'Running' ? 'the guest is booting' : `the guest is ${guest.state}`;
    throw new Error(`guest-exec: the guest agent of ${describe(guest)} is not connected (${why})`);
  }
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string')) {
    throw new Error('guest-exec: command must be a non-empty array of strings');
  }
  return runInGuest(world, guest, argv);
}

export function openGuestConsole(
  world: SimWorld,
  vmiUid: string,
  handlers: ConsoleHandlers,
  options?: ConsoleOptions,
): ConsoleConnection {
  const guest = world.guests.get(vmiUid);
  if (!guest) throw new Error(`console: no guest with vmi uid ${vmiUid} on this host`);
  if (!isLive(guest.state))
    throw new Error(`console: the guest ${describe(guest)} is ${guest.state}`);
  return guest.console.open(handlers, options);
}

export async function guestConsoleLog(
  world: SimWorld,
  vmiUid: string,
): Promise<string | undefined> {
  const guest = world.guests.get(vmiUid);
  return guest ? (await guest.console.log.read()).toString('utf8') : undefined;
}
