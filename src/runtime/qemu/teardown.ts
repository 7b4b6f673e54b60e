// Everything one qemu runtime instance holds on this host, found from the kernel and /proc alone (no runtime, no
// server, no data dir needed), and its removal: guests, other processes in its namespaces, namespaces, root links.
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { dnsmasqOf, isDnsmasqCommand } from './dnsmasq.ts';
import { deleteLink, deleteNamespace, link, links, listNamespaces, namespaceInode } from './ip.ts';
import {
  hostNamespace,
  instanceIdOfHostNamespace,
  instanceIdOfPodNamespace,
  instanceIdOfQemuName,
  podUidOfNamespace,
  vmiUidOfQemuName,
} from './names.ts';
import { listTables } from './nft.ts';
import { listProcesses, terminate, type HostProcess } from './procfs.ts';
import { guestNameOf, isQemuCommand, pidFileOf } from './qemu.ts';
import {
  guestFiles,
  stateDirOfDnsmasqPidFile,
  stateDirOfGuestPidFile,
  stateSubdirs,
} from './state-dir.ts';
import { underlayPeerName } from './vxlan.ts';

export interface InstanceGuest {
  /** The QEMU process. */
  pid: number;
  vmiUid: string;
  /** `namespace/name` of its VMI, from the guest's record when the state dir is known. */
  vmi?: string;
}

export interface InstanceProcess {
  pid: number;
  /** The program's file name (`dnsmasq`, …). */
  command: string;
  /** The instance's namespace it runs in. */
  namespace: string;
  /** dnsmasq: the bridge it serves. */
  bridge?: string;
}

export interface InstanceLink {
  name: string;
  kind?: string;
}

export interface InstanceHoldings {
  instanceId: string;
  /** Its runtime's state directory, as given or as its QEMU and dnsmasq command lines name it. */
  stateDir?: string;
  guests: InstanceGuest[];
  /** Every other process inside its namespaces (each network's dnsmasq, helpers). */
  processes: InstanceProcess[];
  /** Its host namespace with the bridges, veths, VXLAN links and nftables tables in it, when it exists. */
  hostNamespace?: { name: string; links: InstanceLink[]; nftTables: string[] };
  podNamespaces: string[];
  /** Links in the root namespace: the underlay veth of a multi-host instance. */
  rootLinks: string[];
}

export const holdsNothing = (h: InstanceHoldings): boolean =>
  h.guests.length === 0 &&
  h.processes.length === 0 &&
  h.hostNamespace === undefined &&
  h.podNamespaces.length === 0 &&
  h.rootLinks.length === 0;

/** One look at the host: namespaces with their inodes, and every process. */
interface HostView {
  namespaces: Array<{ name: string; inode?: number }>;
  processes: HostProcess[];
}

async function viewHost(): Promise<HostView> {
  const [names, processes] = await Promise.all([listNamespaces(), listProcesses()]);
  const namespaces = await Promise.all(
    names.map(async (name) => {
      const inode = await namespaceInode(name);
      return inode === undefined ? { name } : { name, inode };
    }),
  );
  return { namespaces, processes };
}

const qemuInstanceOf = (p: HostProcess): { instanceId: string; vmiUid: string } | undefined => {
  const name = isQemuCommand(p.cmdline) ? guestNameOf(p.cmdline) : undefined;
  const instanceId = name ? instanceIdOfQemuName(name) : undefined;
  const vmiUid = instanceId && name ? vmiUidOfQemuName(instanceId, name) : undefined;
  return instanceId && vmiUid ? { instanceId, vmiUid } : undefined;
};

/** The instance ids that name a namespace or a guest on this host. */
function instanceIdsIn(view: HostView): string[] {
  const ids = new Set<string>();
  for (const { name } of view.namespaces) {
    const id = instanceIdOfHostNamespace(name) ?? instanceIdOfPodNamespace(name);
    if (id) ids.add(id);
  }
  for (const p of view.processes) {
    const guest = qemuInstanceOf(p);
    if (guest) ids.add(guest.instanceId);
  }
  return [...ids].sort();
}

async function vmiOfRecord(stateDir: string, vmiUid: string): Promise<string | undefined> {
  try {
    const spec = JSON.parse(await readFile(guestFiles(stateDir, vmiUid).spec, 'utf8')) as {
      namespace?: unknown;
      name?: unknown;
    };
    return typeof spec.namespace === 'string' && typeof spec.name === 'string'
      ? `${spec.namespace}/${spec.name}`
      : undefined;
  } catch {
    return undefined;
  }
}

async function holdingsIn(
  view: HostView,
  instanceId: string,
  given: { stateDir?: string },
): Promise<InstanceHoldings> {
  const hostNs = hostNamespace(instanceId);
  const own = view.namespaces.filter(
    (ns) => ns.name === hostNs || podUidOfNamespace(instanceId, ns.name) !== undefined,
  );
  const namespaceOfInode = new Map(
    own.flatMap((ns) => (ns.inode === undefined ? [] : [[ns.inode, ns.name] as const])),
  );
  const guests: InstanceGuest[] = [];
  const processes: InstanceProcess[] = [];
  let stateDir = given.stateDir;
  for (const p of view.processes) {
    const guest = qemuInstanceOf(p);
    if (guest?.instanceId === instanceId) {
      guests.push({ pid: p.pid, vmiUid: guest.vmiUid });
      const pidFile = pidFileOf(p.cmdline);
      stateDir ??= pidFile ? stateDirOfGuestPidFile(pidFile) : undefined;
      continue;
    }
    const dnsmasq = isDnsmasqCommand(p.cmdline) ? dnsmasqOf(p.cmdline) : undefined;
    const dnsmasqStateDir = dnsmasq?.pidFile
      ? stateDirOfDnsmasqPidFile(dnsmasq.pidFile)
      : undefined;
    const namespace = p.netns === undefined ? undefined : namespaceOfInode.get(p.netns);
    // A dnsmasq whose host namespace was deleted by hand runs on in the unnamed namespace: its pid file still says whose.
    const orphan = !namespace && given.stateDir !== undefined && dnsmasqStateDir === given.stateDir;
    if (!namespace && !orphan) continue;
    if (dnsmasqStateDir) stateDir ??= dnsmasqStateDir;
    processes.push({
      pid: p.pid,
      command: basename(p.cmdline[0] ?? '?'),
      namespace: namespace ?? '(a deleted namespace)',
      ...(dnsmasq?.bridge ? { bridge: dnsmasq.bridge } : {}),
    });
  }
  if (stateDir) {
    for (const guest of guests) {
      const vmi = await vmiOfRecord(stateDir, guest.vmiUid);
      if (vmi) guest.vmi = vmi;
    }
  }
  const hasHostNs = own.some((ns) => ns.name === hostNs);
  const [hostLinks, nftTables, rootPeer] = await Promise.all([
    hasHostNs ? links(hostNs).catch(() => []) : Promise.resolve([]),
    hasHostNs ? listTables(hostNs).catch(() => []) : Promise.resolve([]),
    link(undefined, underlayPeerName(instanceId)),
  ]);
  return {
    instanceId,
    ...(stateDir ? { stateDir } : {}),
    guests: guests.sort((a, b) => a.pid - b.pid),
    processes: processes.sort((a, b) => a.pid - b.pid),
    ...(hasHostNs
      ? {
          hostNamespace: {
            name: hostNs,
            links: hostLinks
              .filter((l) => l.name !== 'lo')
              .map((l) => ({ name: l.name, ...(l.kind ? { kind: l.kind } : {}) })),
            nftTables: nftTables.map((t) => `${t.family} ${t.name}`),
          },
        }
      : {}),
    podNamespaces: own
      .map((ns) => ns.name)
      .filter((name) => name !== hostNs)
      .sort(),
    rootLinks: rootPeer ? [rootPeer.name] : [],
  };
}

/** What instance `instanceId` holds on this host now. */
export async function findInstance(
  instanceId: string,
  given: { stateDir?: string } = {},
): Promise<InstanceHoldings> {
  return holdingsIn(await viewHost(), instanceId, given);
}

/** Every instance that holds a namespace or a guest on this host. */
export async function findInstances(): Promise<InstanceHoldings[]> {
  const view = await viewHost();
  return Promise.all(instanceIdsIn(view).map((id) => holdingsIn(view, id, {})));
}

export interface RemoveOptions {
  /** Its state directory: the records of networks, pods and guests go too (persistent disks stay). */
  stateDir?: string;
  /** How long a guest gets to end on SIGTERM before SIGKILL (default 2 s: it is being pulled, not shut down). */
  graceMs?: number;
}

export interface InstanceRemoval {
  /** What was found and removed (processes over every pass). */
  removed: InstanceHoldings;
  /** State directories removed. */
  removedState: string[];
  /** What is still there afterwards; empty unless something refused to go. */
  left: InstanceHoldings;
}

const PASSES = 3;

/**
 * Stops every guest and process of the instance, then deletes its root-namespace links and its namespaces (their
 * bridges, veths, taps, VXLAN links and nftables tables go with them), and its records when the state dir is given.
 * Idempotent: an instance that holds nothing is left as it is.
 */
export async function removeInstance(
  instanceId: string,
  options: RemoveOptions = {},
): Promise<InstanceRemoval> {
  const graceMs = options.graceMs ?? 2_000;
  const given = options.stateDir ? { stateDir: options.stateDir } : {};
  const first = await findInstance(instanceId, given);
  const guests = new Map(first.guests.map((g) => [g.pid, g]));
  const processes = new Map(first.processes.map((p) => [p.pid, p]));
  // A server killed while it launched a guest may leave a helper that starts one after the first look: look again.
  let current = first;
  for (let pass = 0; pass < PASSES; pass++) {
    if (current.guests.length === 0 && current.processes.length === 0) break;
    await Promise.all(current.guests.map((g) => terminate(g.pid, graceMs)));
    await Promise.all(current.processes.map((p) => terminate(p.pid, graceMs)));
    current = await findInstance(instanceId, given);
    for (const g of current.guests) guests.set(g.pid, g);
    for (const p of current.processes) processes.set(p.pid, p);
  }
  // One end of a veth pair takes the other with it: the root end first, then the namespaces.
  for (const name of first.rootLinks) await deleteLink(undefined, name);
  await Promise.all(current.podNamespaces.map((ns) => deleteNamespace(ns)));
  if (current.hostNamespace) await deleteNamespace(current.hostNamespace.name);
  const stateDir = options.stateDir ?? first.stateDir;
  const left = await findInstance(instanceId, given);
  const removedState: string[] = [];
  // Records go only with what they describe: while a guest is left, its record still names it.
  if (options.stateDir && holdsNothing(left)) {
    const dirs = stateSubdirs(options.stateDir);
    for (const dir of [dirs.networks, dirs.pods, dirs.guests]) {
      if (!existsSync(dir)) continue;
      await rm(dir, { recursive: true, force: true });
      removedState.push(dir);
    }
  }
  return {
    removed: {
      ...first,
      ...(stateDir ? { stateDir } : {}),
      guests: [...guests.values()],
      processes: [...processes.values()],
      podNamespaces: [...new Set([...first.podNamespaces, ...current.podNamespaces])].sort(),
    },
    removedState,
    left,
  };
}
