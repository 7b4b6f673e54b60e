// The qemu runtime's state directory: where each network, pod and guest keeps its record, sockets and pid files.
import { basename, dirname, join } from 'node:path';
import { guestDirName } from './names.ts';

/** The records of host objects (networks, pods, guests) and the persistent disks, one directory each. */
export const stateSubdirs = (stateDir: string) => ({
  networks: join(stateDir, 'networks'),
  pods: join(stateDir, 'pods'),
  guests: join(stateDir, 'guests'),
  disks: join(stateDir, 'disks'),
});

/** What a running guest keeps in its directory: its spec, QMP/agent/serial sockets, serial log and QEMU's pid file. */
export function guestFiles(stateDir: string, vmiUid: string) {
  const dir = join(stateSubdirs(stateDir).guests, guestDirName(vmiUid));
  return {
    dir,
    spec: join(dir, 'spec.json'),
    qmp: join(dir, 'qmp.sock'),
    agent: join(dir, 'qga.sock'),
    serialSocket: join(dir, 'tty.sock'),
    serialLog: join(dir, 'serial.log'),
    pidFile: join(dir, 'qemu.pid'),
  };
}

/** What a network keeps in its directory: its spec, dnsmasq's leases, fixed addresses (hosts), pid file and log. */
export function networkFiles(stateDir: string, networkId: string) {
  const dir = join(stateSubdirs(stateDir).networks, networkId);
  return {
    dir,
    spec: join(dir, 'spec.json'),
    leases: join(dir, 'leases'),
    hosts: join(dir, 'hosts'),
    pid: join(dir, 'dnsmasq.pid'),
    log: join(dir, 'dnsmasq.log'),
  };
}

/** The state directory a guest's pid file (`<stateDir>/guests/<dir>/qemu.pid`) lies in; undefined for another path. */
export function stateDirOfGuestPidFile(pidFile: string): string | undefined {
  const guests = dirname(dirname(pidFile));
  return basename(pidFile) === 'qemu.pid' && basename(guests) === 'guests'
    ? dirname(guests)
    : undefined;
}

/** The state directory a network's dnsmasq pid file (`<stateDir>/networks/<id>/dnsmasq.pid`) lies in. */
export function stateDirOfDnsmasqPidFile(pidFile: string): string | undefined {
  const networks = dirname(dirname(pidFile));
  return basename(pidFile) === 'dnsmasq.pid' && basename(networks) === 'networks'
    ? dirname(networks)
    : undefined;
}
