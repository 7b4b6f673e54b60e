// A sim guest as its busybox userland sees it: the GuestOs the shell's commands act on (links, DHCP, ping, files,
// reboot), commands run from guest-exec or typed on the serial console, and a new guest's console and shell.
import { formatIpv4, parseIpv4 } from '../../ip/ipv4.ts';
import { ConsoleHub, MemoryConsoleLog } from '../console.ts';
import type { ExecResult, GuestSpec } from '../types.ts';
import type { GuestLink, GuestOs } from './busybox/guest-os.ts';
import { SerialShell } from './busybox/serial-shell.ts';
import { runCommand } from './busybox/shell.ts';
import { writeDevice } from './guest-disks.ts';
import { echo, runDhcp } from './l2.ts';
import { resetMachine, scheduleBoot } from './power.ts';
import { emit, type SimGuest, type SimNic, type SimWorld } from './world.ts';

/** What the observer can see change: state, agent, and each NIC's MAC and address. */
const fingerprint = (guest: SimGuest): string =>
  `${guest.state}|${guest.agentConnected}|` +
  guest.nics.map((n) => `${n.guestMac}/${n.ipv4?.ip ?? ''}`).join(',');

function guestOs(world: SimWorld, guest: SimGuest): GuestOs {
  const nicNamed = (name: string): SimNic => {
    const nic = guest.nics.find((n) => n.ifName === name);
    if (!nic) throw new Error(`sim guest ${guest.spec.vmiUid} has no link ${name}`);
    return nic;
  };
  return {
    links: (): GuestLink[] =>
      guest.nics.map((n) => ({
        index: n.ifIndex,
        name: n.ifName,
        mac: n.guestMac,
        up: n.up,
        ipv4: n.ipv4
          ? { address: formatIpv4(n.ipv4.ip), prefix: n.ipv4.network.cidr.prefix }
          : undefined,
      })),
    setLinkAddress: (name, mac) => {
      nicNamed(name).guestMac = mac;
    },
    setLinkUp: (name, up) => {
      nicNamed(name).up = up;
    },
    runDhcp: (name) => runDhcp(world, nicNamed(name)),
    echo: (name, target, dataBytes) => {
      const address = parseIpv4(target);
      return address !== undefined && echo(world, nicNamed(name), address, dataBytes);
    },
    readFile: (path) => guest.devices.get(path)?.content ?? guest.files.get(path),
    writeFile: (path, content) => {
      const device = guest.devices.get(path);
      if (device) writeDevice(device, content);
      else guest.files.set(path, content);
    },
    removeFile: (path) => guest.files.delete(path),
    listFiles: (dir) => [...guest.files.keys()].filter((p) => p.startsWith(dir)).sort(),
    reboot: () => {
      // The VM process keeps running through a guest reboot: QEMU stays Running, only the agent goes away.
      resetMachine(guest);
      scheduleBoot(world, guest);
    },
  };
}

/** A command in the guest, from guest-exec or typed on the console; a change it makes is news to the observer. */
export function runInGuest(world: SimWorld, guest: SimGuest, argv: string[]): ExecResult {
  const before = fingerprint(guest);
  const result = runCommand(argv, guestOs(world, guest));
  if (fingerprint(guest) !== before)
    emit(world, { type: 'guest-changed', vmiUid: guest.spec.vmiUid });
  return result;
}

export function newGuest(world: SimWorld, spec: GuestSpec): SimGuest {
  const serial = new ConsoleHub((data) => {
    // The serial port only answers while the machine runs; typing into a stopped one goes nowhere.
    if (guest.state === 'Running') shell.input(data);
  }, new MemoryConsoleLog());
  const shell = new SerialShell(
    (text) => serial.output(Buffer.from(text, 'utf8')),
    (line) => runInGuest(world, guest, ['sh', '-c', line]),
  );
  const guest: SimGuest = {
    spec,
    state: 'Starting',
    reason: undefined,
    agentConnected: false,
    bootEpoch: 0,
    nics: [],
    files: new Map(),
    devices: new Map(),
    console: serial,
    shell,
  };
  return guest;
}
