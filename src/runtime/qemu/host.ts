// What one qemu runtime instance holds on this host (its namespaces, state directory, and the networks, pods and
// guests it knows), the seam its parts share; and how it re-reads that from a previous run's records.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  GuestSpec,
  NetworkSpec,
  PodInterfaceStatus,
  PodNetworkRequest,
  RuntimeEvent,
} from '../types.ts';
import { dnsmasqOf, isDnsmasqCommand } from './dnsmasq.ts';
import { GuestSession, type GuestPaths } from './guest-session.ts';
import type { GuestImage } from './image.ts';
import type { KeyedLock } from './keyed-lock.ts';
import { bridgeName, qemuGuestName } from './names.ts';
import { commandLine, isAlive, readPidFile } from './procfs.ts';
import { guestNameOf, isQemuCommand } from './qemu.ts';
import { guestFiles, networkFiles, stateSubdirs } from './state-dir.ts';

/** What setupPod was asked and answered, kept on disk so that a restarted runtime knows its pods. */
export interface PodRecord {
  request: PodNetworkRequest;
  statuses: PodInterfaceStatus[];
}

export interface QemuHost {
  readonly instanceId: string;
  readonly stateDir: string;
  readonly dirs: ReturnType<typeof stateSubdirs>;
  /** The namespace holding this runtime's bridges and dnsmasq. */
  readonly hostNs: string;
  readonly image: GuestImage;
  /** TCG translation cache per guest in MiB. */
  readonly tbSizeMiB: number;
  /** This host's underlay address when networks reach other hosts through VXLAN. */
  readonly localUnderlayIp: string | undefined;
  /** The other hosts' underlay addresses. */
  vxlanPeers: readonly string[];
  readonly networks: Map<string, NetworkSpec>;
  readonly pods: Map<string, PodRecord>;
  readonly guests: Map<string, GuestSession>;
  /** Serialises work on one network, pod, guest or disk (`network/<id>`, `pod/<uid>`, `guest/<uid>`, `disk/<id>`). */
  readonly lock: KeyedLock;
  readonly emit: (event: RuntimeEvent) => void;
}

export const networkFilesOf = (host: QemuHost, networkId: string) =>
  networkFiles(host.stateDir, networkId);
export const podFileOf = (host: QemuHost, podUid: string): string =>
  join(host.dirs.pods, `${podUid}.json`);
export const guestPathsOf = (host: QemuHost, vmiUid: string): GuestPaths =>
  guestFiles(host.stateDir, vmiUid);

/** The dnsmasq of a network, when its pid file names a live dnsmasq serving that network's bridge. */
export async function dnsmasqPid(host: QemuHost, networkId: string): Promise<number | undefined> {
  const pid = await readPidFile(networkFilesOf(host, networkId).pid);
  if (!pid || !(await isAlive(pid))) return undefined;
  const cmdline = await commandLine(pid);
  return cmdline && isDnsmasqCommand(cmdline) && dnsmasqOf(cmdline).bridge === bridgeName(networkId)
    ? pid
    : undefined;
}

/** The QEMU of a guest, when its pid file names a live QEMU started for that VMI by this instance. */
async function qemuPid(host: QemuHost, vmiUid: string): Promise<number | undefined> {
  const pid = await readPidFile(guestPathsOf(host, vmiUid).pidFile);
  if (!pid || !(await isAlive(pid))) return undefined;
  const cmdline = await commandLine(pid);
  return cmdline &&
    isQemuCommand(cmdline) &&
    guestNameOf(cmdline) === qemuGuestName(host.instanceId, vmiUid)
    ? pid
    : undefined;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch {
    return [];
  }
}

/** Records from a previous run: networks and pods are facts on the host; guests are re-attached when QEMU still runs. */
export async function restoreRecords(host: QemuHost): Promise<void> {
  const { dirs, networks, pods, guests } = host;
  for (const id of await listDir(dirs.networks)) {
    const spec = await readJson<NetworkSpec>(networkFilesOf(host, id).spec);
    if (spec) networks.set(spec.id, spec);
  }
  for (const file of await listDir(dirs.pods)) {
    const record = await readJson<PodRecord>(join(dirs.pods, file));
    if (record) pods.set(record.request.podUid, record);
  }
  for (const dir of await listDir(dirs.guests)) {
    const spec = await readJson<GuestSpec>(join(dirs.guests, dir, 'spec.json'));
    if (!spec) continue;
    const paths = guestPathsOf(host, spec.vmiUid);
    const pid = await qemuPid(host, spec.vmiUid);
    if (pid) {
      const session = new GuestSession(spec, paths, pid, host.emit);
      try {
        await session.attach();
        guests.set(spec.vmiUid, session);
        continue;
      } catch {
        // Falls through: recorded as failed below.
      }
    }
    const session = new GuestSession(spec, paths, 0, host.emit);
    // A pid file is removed on every stop Harrow asks for; one left behind means QEMU ended on its own.
    if (pid || (await readPidFile(paths.pidFile)))
      session.markGone('Failed', 'QEMU exited while Harrow was not running');
    else session.markGone('Stopped', 'stopped');
    guests.set(spec.vmiUid, session);
  }
}
