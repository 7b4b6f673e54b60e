// What reaches into a running qemu guest from outside: what it uses (QMP and the guest agent, for drift), its NICs'
// counters, guest-exec through the agent, and its serial console.
import type {
  ConsoleConnection,
  ConsoleHandlers,
  ConsoleOptions,
  ExecResult,
  GuestNicStatistics,
  GuestObservation,
} from '../types.ts';
import { guestSideOfTap } from './binding-bridge.ts';
import type { QemuHost } from './host.ts';
import { tapName } from './names.ts';
import { netDevices } from './procfs.ts';

export async function observeGuest(
  host: QemuHost,
  vmiUid: string,
): Promise<GuestObservation | undefined> {
  return host.guests.get(vmiUid)?.observe();
}

export async function guestNicStatistics(
  host: QemuHost,
  vmiUid: string,
): Promise<GuestNicStatistics[] | undefined> {
  const session = host.guests.get(vmiUid);
  if (!session?.running) return undefined;
  // QEMU runs in the pod's namespace, so its /proc view lists the pod's taps: a file read, no `ip` per scrape.
  const devices = await netDevices(session.pid);
  if (!devices) return undefined;
  return session.spec.nics.flatMap((nic, index) => {
    const tap = devices.get(tapName(index));
    return tap ? [guestSideOfTap(nic.name, tap)] : [];
  });
}

export async function guestExec(
  host: QemuHost,
  vmiUid: string,
  argv: string[],
  options?: { timeoutMs?: number },
): Promise<ExecResult> {
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((arg) => typeof arg !== 'string')) {
    throw new Error('guest-exec: command must be a non-empty array of strings');
  }
  const session = host.guests.get(vmiUid);
  if (!session) throw new Error(`guest-exec: no guest with vmi uid ${vmiUid} on this host`);
  return session.exec(argv, options?.timeoutMs ?? 30_000);
}

export async function openGuestConsole(
  host: QemuHost,
  vmiUid: string,
  handlers: ConsoleHandlers,
  options?: ConsoleOptions,
): Promise<ConsoleConnection> {
  const session = host.guests.get(vmiUid);
  if (!session) throw new Error(`console: no guest with vmi uid ${vmiUid} on this host`);
  if (!session.running || !session.serial.connected)
    throw new Error(
      `console: the guest ${session.spec.namespace}/${session.spec.name} is ${session.state}`,
    );
  return session.serial.hub.open(handlers, options);
}

export async function guestConsoleLog(host: QemuHost, vmiUid: string): Promise<string | undefined> {
  const session = host.guests.get(vmiUid);
  return session ? (await session.serial.hub.log.read()).toString('utf8') : undefined;
}
