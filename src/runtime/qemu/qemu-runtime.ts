// The real runtime: pods are network namespaces wired to per-network bridges, guests are QEMU (TCG) processes in them.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { validateMac } from '../../mac/index.ts';
import type {
  ConsoleConnection,
  ExecResult,
  GuestNicStatistics,
  GuestObservation,
  GuestSpec,
  Inventory,
  Lease,
  NetworkSpec,
  PodInterfaceStatus,
  PodNetworkRequest,
  Runtime,
  RuntimeEvent,
} from '../types.ts';
import { bindBridge, guestSideOfTap } from './binding-bridge.ts';
import { dnsmasqOf, isDnsmasqCommand, readLeases, startDnsmasq } from './dnsmasq.ts';
import { buildGuestImage, defaultGuestCacheDir, type GuestImage } from './image.ts';
import { netmask } from '../../ip/ipv4.ts';
import {
  addBridge,
  addVethPair,
  deleteLink,
  deleteNamespace,
  ensureNamespace,
  link,
  links,
  listNamespaces,
  namespaceExists,
  namespacePids,
  setIpv4Address,
  setLink,
} from './ip.ts';
import { KeyedLock } from './keyed-lock.ts';
import {
  bridgeName,
  checkInstanceId,
  checkInterfaceName,
  checkObjectId,
  hostNamespace,
  hostVethName,
  networkAlias,
  networkIdOfAlias,
  podNamespace,
  podPortAlias,
  podPortOfAlias,
  podUidOfNamespace,
  qemuGuestName,
  tapName,
  vmiUidOfQemuName,
} from './names.ts';
import { checkNetworkSpec } from './network-spec.ts';
import { holdsNothing, removeInstance } from './teardown.ts';
import { guestFiles, networkFiles as networkFilesIn, stateSubdirs } from './state-dir.ts';
import { ensureSpoofchkTable, guardPort, readSpoofchk, unguardPort } from './nft.ts';
import { commandLine, isAlive, netDevices, readPidFile, terminate } from './procfs.ts';
import { guestNameOf, isQemuCommand, launchQemu, nicIds } from './qemu.ts';
import { GuestSession, type GuestPaths } from './guest-session.ts';
import { prepareGuestDisks, removeGuestDisks } from './guest-disks.ts';
import {
  checkDiskId,
  createPersistentDisk,
  deletePersistentDisk,
  listPersistentDisks,
  persistentDiskPath,
} from './persistent-disks.ts';
import {
  ensureUnderlay,
  ensureVxlan,
  removeVxlan,
  setVxlanPeers as setVxlanPeersOf,
  underlayIp,
  type Underlay,
} from './vxlan.ts';

export interface QemuRuntimeOptions {
  /** Names this runtime's host objects, so that several runtimes (parallel tests) never touch each other's. */
  instanceId: string;
  /** Where records, sockets, leases and logs live; absolute and short (unix socket paths are limited to 107 bytes). */
  stateDir: string;
  /** A prebuilt guest image; built (or reused from `imageCacheDir`) when absent. */
  image?: GuestImage;
  imageCacheDir?: string;
  onProgress?: (message: string) => void;
  /** TCG translation cache per guest in MiB (QEMU's default is 1 GiB of address space); 0 keeps QEMU's default. */
  tbSizeMiB?: number;
  /** Several hosts: this host's underlay, over which each network's bridge reaches the other hosts' through VXLAN. */
  underlay?: Underlay;
  /**
   * A throwaway host (a test's, a demo's): close() removes everything this instance made, as destroyAll(). By default
   * guests outlive the process, as KubeVirt's VMs outlive virt-handler, and the next start adopts them.
   */
  teardownOnClose?: boolean;
}

export interface QemuRuntime extends Runtime {
  readonly name: 'qemu';
  readonly instanceId: string;
  /** The namespace holding this runtime's bridges and dnsmasq. */
  readonly hostNamespace: string;
  readonly image: GuestImage;
  podNamespace(podUid: string): string;
  /**
   * Leaves guests running unless `stopAll`; dnsmasq and bridges stay (they belong to the host) — unless the runtime
   * was made with `teardownOnClose`, when close() is destroyAll().
   */
  close(options?: { stopAll?: boolean }): Promise<void>;
  /** Removes what inventory() finds and `keep` does not name; returns what was removed. */
  cleanupOrphans(keep: Partial<Inventory>): Promise<Inventory>;
  /** Removes everything this instance created: QEMU and dnsmasq processes, pod and host namespaces, its state files. */
  destroyAll(): Promise<void>;
  /** Frames the MAC spoof check dropped so far, over all pod ports. */
  spoofDrops(): Promise<number>;
  /** The QEMU process of a running guest. */
  guestPid(vmiUid: string): number | undefined;
  /** The other hosts' underlay addresses: every network's VXLAN floods to exactly these (needs `underlay`). */
  setVxlanPeers(peers: readonly string[]): Promise<void>;
}

interface PodRecord {
  request: PodNetworkRequest;
  statuses: PodInterfaceStatus[];
}

const SOCKET_PATH_MAX = 107;

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

export async function createQemuRuntime(options: QemuRuntimeOptions): Promise<QemuRuntime> {
  const instanceId = checkInstanceId(options.instanceId);
  if (!isAbsolute(options.stateDir))
    throw new Error(`stateDir ${JSON.stringify(options.stateDir)}: must be an absolute path`);
  const stateDir = options.stateDir.replace(/\/+$/, '');
  const longestSocket = guestFiles(stateDir, 'x').qmp;
  if (longestSocket.length > SOCKET_PATH_MAX) {
    throw new Error(
      `stateDir ${stateDir}: too long; guest sockets (${longestSocket.length} bytes) must fit in ${SOCKET_PATH_MAX} bytes`,
    );
  }
  const hostNs = hostNamespace(instanceId);
  const dirs = stateSubdirs(stateDir);
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true, mode: 0o700 });
  const image =
    options.image ??
    (await buildGuestImage({
      cacheDir: options.imageCacheDir ?? defaultGuestCacheDir(),
      onProgress: options.onProgress,
    }));
  await ensureNamespace(hostNs);
  await ensureSpoofchkTable(hostNs);
  if (options.underlay) await ensureUnderlay(hostNs, instanceId, options.underlay);
  const localUnderlayIp = options.underlay ? underlayIp(options.underlay) : undefined;
  let vxlanPeers: readonly string[] = [];

  const networks = new Map<string, NetworkSpec>();
  const pods = new Map<string, PodRecord>();
  const guests = new Map<string, GuestSession>();
  const listeners = new Set<(event: RuntimeEvent) => void>();
  const lock = new KeyedLock();
  let closed = false;

  const emit = (event: RuntimeEvent): void => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the next one still hears the event.
      }
    }
  };
  const assertOpen = (): void => {
    if (closed) throw new Error(`qemu runtime ${instanceId} is closed`);
  };

  const networkFiles = (id: string) => networkFilesIn(stateDir, id);
  const podFile = (podUid: string): string => join(dirs.pods, `${podUid}.json`);
  const guestPaths = (vmiUid: string): GuestPaths => guestFiles(stateDir, vmiUid);

  /** The dnsmasq of a network, when its pid file names a live dnsmasq serving that network's bridge. */
  const dnsmasqPid = async (id: string): Promise<number | undefined> => {
    const pid = await readPidFile(networkFiles(id).pid);
    if (!pid || !(await isAlive(pid))) return undefined;
    const cmdline = await commandLine(pid);
    return cmdline && isDnsmasqCommand(cmdline) && dnsmasqOf(cmdline).bridge === bridgeName(id)
      ? pid
      : undefined;
  };

  /** The QEMU of a guest, when its pid file names a live QEMU started for that VMI by this instance. */
  const qemuPid = async (vmiUid: string): Promise<number | undefined> => {
    const pid = await readPidFile(guestPaths(vmiUid).pidFile);
    if (!pid || !(await isAlive(pid))) return undefined;
    const cmdline = await commandLine(pid);
    return cmdline &&
      isQemuCommand(cmdline) &&
      guestNameOf(cmdline) === qemuGuestName(instanceId, vmiUid)
      ? pid
      : undefined;
  };

  // Records from a previous run: networks and pods are facts on the host; guests are re-attached when QEMU still runs.
  for (const id of await listDir(dirs.networks)) {
    const spec = await readJson<NetworkSpec>(networkFiles(id).spec);
    if (spec) networks.set(spec.id, spec);
  }
  for (const file of await listDir(dirs.pods)) {
    const record = await readJson<PodRecord>(join(dirs.pods, file));
    if (record) pods.set(record.request.podUid, record);
  }
  for (const dir of await listDir(dirs.guests)) {
    const spec = await readJson<GuestSpec>(join(dirs.guests, dir, 'spec.json'));
    if (!spec) continue;
    const pid = await qemuPid(spec.vmiUid);
    if (pid) {
      const session = new GuestSession(spec, guestPaths(spec.vmiUid), pid, emit);
      try {
        await session.attach();
        guests.set(spec.vmiUid, session);
        continue;
      } catch {
        // Falls through: recorded as failed below.
      }
    }
    const session = new GuestSession(spec, guestPaths(spec.vmiUid), 0, emit);
    // A pid file is removed on every stop Harrow asks for; one left behind means QEMU ended on its own.
    if (pid || (await readPidFile(guestPaths(spec.vmiUid).pidFile)))
      session.markGone('Failed', 'QEMU exited while Harrow was not running');
    else session.markGone('Stopped', 'stopped');
    guests.set(spec.vmiUid, session);
  }

  // ---- networks: a bridge with the gateway address and a DHCP server, in the host namespace ----

  const ensureNetwork = async (input: NetworkSpec): Promise<void> => {
    const { spec, cidr } = checkNetworkSpec(input);
    await lock.run(`network/${spec.id}`, async () => {
      const files = networkFiles(spec.id);
      const bridge = bridgeName(spec.id);
      const previous = networks.get(spec.id);
      if (previous && (previous.cidr !== spec.cidr || previous.gateway !== spec.gateway)) {
        throw new Error(
          `network ${spec.name} (${spec.id}): cidr and gateway of an existing network cannot change; remove it first`,
        );
      }
      const existing = await link(hostNs, bridge);
      if (existing && networkIdOfAlias(existing.alias) !== spec.id) {
        throw new Error(
          `network ${spec.name} (${spec.id}): bridge ${bridge} already serves network ${networkIdOfAlias(existing.alias) ?? '(unknown)'}`,
        );
      }
      if (!existing) await addBridge(hostNs, bridge);
      // Without a port a bridge stays down, but dnsmasq can bind to it and answers once the first pod joins.
      await setLink(hostNs, bridge, {
        alias: networkAlias(spec.id),
        noIpv6LinkLocal: true,
        up: true,
      });
      await setIpv4Address(hostNs, bridge, `${spec.gateway}/${cidr.prefix}`);
      if (localUnderlayIp) {
        await ensureVxlan(hostNs, spec.id, bridge, localUnderlayIp);
        await setVxlanPeersOf(hostNs, spec.id, vxlanPeers);
      }
      await mkdir(files.dir, { recursive: true, mode: 0o700 });
      const running = await dnsmasqPid(spec.id);
      const same = previous !== undefined && JSON.stringify(previous) === JSON.stringify(spec);
      if (running && !same) await terminate(running);
      if (!running || !same) {
        await startDnsmasq(hostNs, {
          bridge,
          gateway: spec.gateway,
          rangeStart: spec.dhcpRange.start,
          rangeEnd: spec.dhcpRange.end,
          netmask: netmask(cidr.prefix),
          leaseFile: files.leases,
          pidFile: files.pid,
          logFile: files.log,
        });
      }
      await writeFile(files.spec, JSON.stringify(spec, null, 2));
      networks.set(spec.id, structuredClone(spec));
    });
  };

  const removeNetworkNow = async (networkId: string): Promise<void> => {
    const files = networkFiles(networkId);
    const pid = await dnsmasqPid(networkId);
    if (pid) await terminate(pid);
    await removeVxlan(hostNs, networkId);
    await deleteLink(hostNs, bridgeName(networkId));
    await rm(files.dir, { recursive: true, force: true });
    networks.delete(networkId);
  };

  // ---- pods: the CNI role ----

  const checkPodRequest = (request: PodNetworkRequest): void => {
    checkObjectId('podUid', request.podUid);
    const seen = new Set<string>();
    request.interfaces.forEach((iface, index) => {
      const field = `interfaces[${index}]`;
      checkInterfaceName(`${field}.podInterfaceName`, iface.podInterfaceName);
      if (seen.has(iface.podInterfaceName))
        throw new Error(
          `${field}.podInterfaceName ${iface.podInterfaceName} is used twice in pod ${request.podUid}`,
        );
      seen.add(iface.podInterfaceName);
      try {
        iface.mac = validateMac(iface.mac);
      } catch (error) {
        throw new Error(`${field}.mac: ${error instanceof Error ? error.message : String(error)}`, {
          cause: error,
        });
      }
      if (!networks.has(iface.network.id)) {
        throw new Error(
          `${field}.network ${iface.network.name} (${iface.network.id}) is not set up on this host; ensureNetwork first`,
        );
      }
    });
  };

  const setupPod = async (input: PodNetworkRequest): Promise<PodInterfaceStatus[]> => {
    const request = structuredClone(input);
    checkPodRequest(request);
    return lock.run(`pod/${request.podUid}`, async () => {
      const podNs = podNamespace(instanceId, request.podUid);
      const known = pods.get(request.podUid);
      if (
        known &&
        JSON.stringify(known.request) === JSON.stringify(request) &&
        (await namespaceExists(podNs))
      ) {
        return structuredClone(known.statuses);
      }
      if (
        known &&
        [...guests.values()].some((g) => g.spec.podUid === request.podUid && g.running)
      ) {
        throw new Error(`pod ${request.podUid}: its interfaces cannot change while its guest runs`);
      }
      await ensureNamespace(podNs);
      for (const iface of request.interfaces) {
        const hostEnd = hostVethName(request.podUid, iface.podInterfaceName);
        const podLink = await link(podNs, iface.podInterfaceName);
        if (podLink && podLink.mac !== iface.mac) await deleteLink(podNs, iface.podInterfaceName);
        if (!podLink || podLink.mac !== iface.mac) {
          await deleteLink(hostNs, hostEnd);
          // The CNI role: the pod end is created with the platform's MAC.
          await addVethPair(podNs, iface.podInterfaceName, iface.mac, hostEnd, hostNs);
        }
        await setLink(hostNs, hostEnd, {
          master: bridgeName(iface.network.id),
          alias: podPortAlias(request.podUid, iface.podInterfaceName),
          noIpv6LinkLocal: true,
          up: true,
        });
        // macspoofchk in the host namespace, out of the pod's (and the guest's) reach, as the bridge CNI does.
        await guardPort(hostNs, hostEnd, iface.mac);
        await setLink(podNs, iface.podInterfaceName, { noIpv6LinkLocal: true, up: true });
      }
      const created = await links(podNs);
      const statuses = request.interfaces.map((iface): PodInterfaceStatus => {
        const found = created.find((l) => l.name === iface.podInterfaceName);
        if (!found)
          throw new Error(
            `pod ${request.podUid}: interface ${iface.podInterfaceName} was not created`,
          );
        return {
          name: iface.name,
          networkName: iface.network.name,
          podInterfaceName: found.name,
          mac: found.mac,
        };
      });
      const record: PodRecord = { request, statuses };
      await writeFile(podFile(request.podUid), JSON.stringify(record, null, 2));
      pods.set(request.podUid, record);
      return structuredClone(statuses);
    });
  };

  const forgetGuest = async (vmiUid: string): Promise<void> => {
    guests.get(vmiUid)?.detach();
    guests.delete(vmiUid);
    await rm(guestPaths(vmiUid).dir, { recursive: true, force: true });
  };

  const teardownPodNow = async (podUid: string): Promise<void> => {
    const podNs = podNamespace(instanceId, podUid);
    // Deleting the launcher pod takes its guest with it.
    for (const session of [...guests.values()].filter((g) => g.spec.podUid === podUid)) {
      await session.stop(0, 'launcher pod deleted');
      await forgetGuest(session.spec.vmiUid);
    }
    for (const pid of await namespacePids(podNs)) await terminate(pid, 1_000);
    for (const hostLink of await links(hostNs)) {
      if (podPortOfAlias(hostLink.alias)?.podUid !== podUid) continue;
      await unguardPort(hostNs, hostLink.name);
      await deleteLink(hostNs, hostLink.name);
    }
    for (const iface of pods.get(podUid)?.request.interfaces ?? []) {
      const hostEnd = hostVethName(podUid, iface.podInterfaceName);
      await unguardPort(hostNs, hostEnd);
      await deleteLink(hostNs, hostEnd);
    }
    await deleteNamespace(podNs);
    await rm(podFile(podUid), { force: true });
    pods.delete(podUid);
  };

  // ---- guests: the launcher role ----

  const startGuest = async (input: GuestSpec): Promise<void> => {
    const spec = structuredClone(input);
    checkObjectId('vmiUid', spec.vmiUid);
    checkObjectId('podUid', spec.podUid);
    const where = `guest ${spec.namespace}/${spec.name} (vmi ${spec.vmiUid})`;
    if (!Number.isInteger(spec.cpus) || spec.cpus < 1 || spec.cpus > 8)
      throw new Error(`${where}: cpus ${spec.cpus} must be an integer in 1..8`);
    if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < 64 || spec.memoryMiB > 16_384) {
      throw new Error(`${where}: memoryMiB ${spec.memoryMiB} must be an integer in 64..16384`);
    }
    await lock.run(`guest/${spec.vmiUid}`, async () => {
      const existing = guests.get(spec.vmiUid);
      if (existing?.running) return;
      const pod = pods.get(spec.podUid);
      const podNs = podNamespace(instanceId, spec.podUid);
      if (!pod || !(await namespaceExists(podNs)))
        throw new Error(`${where}: pod ${spec.podUid} is not set up on this host`);
      const used = new Set<string>();
      spec.nics.forEach((nic, index) => {
        const field = `nics[${index}]`;
        try {
          nic.mac = validateMac(nic.mac);
        } catch (error) {
          throw new Error(
            `${where}: ${field}.mac: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
        }
        const iface = pod.request.interfaces.find(
          (i) => i.podInterfaceName === nic.podInterfaceName,
        );
        if (!iface)
          throw new Error(
            `${where}: ${field}.podInterfaceName ${nic.podInterfaceName} does not exist in pod ${spec.podUid}`,
          );
        if (iface.network.id !== nic.networkId) {
          throw new Error(
            `${where}: ${field}.networkId ${nic.networkId} is not the network of pod interface ${nic.podInterfaceName} (${iface.network.id})`,
          );
        }
        if (used.has(nic.podInterfaceName))
          throw new Error(
            `${where}: ${field}.podInterfaceName ${nic.podInterfaceName} is used twice`,
          );
        used.add(nic.podInterfaceName);
      });
      const holder = [...guests.values()].find(
        (g) => g.running && g.spec.podUid === spec.podUid && g.spec.vmiUid !== spec.vmiUid,
      );
      if (holder)
        throw new Error(`${where}: pod ${spec.podUid} already runs guest ${holder.spec.vmiUid}`);

      const qemuNics = [];
      for (const [index, nic] of spec.nics.entries()) {
        const { tap } = await bindBridge(podNs, nic.podInterfaceName, tapName(index));
        qemuNics.push({ ...nicIds(index), tap, mac: nic.mac });
      }
      const paths = guestPaths(spec.vmiUid);
      await mkdir(paths.dir, { recursive: true, mode: 0o700 });
      for (const stale of [paths.qmp, paths.agent, paths.serialSocket, paths.pidFile])
        await rm(stale, { force: true });
      await writeFile(paths.spec, JSON.stringify(spec, null, 2));
      const drives = await prepareGuestDisks(paths.dir, spec.disks ?? [], (id) =>
        persistentDiskPath(dirs.disks, id),
      );
      // With a boot image among its disks the guest boots that (kernel or firmware); else the runtime's own image.
      const boot =
        spec.boot ?? ({ type: 'kernel', kernel: image.kernel, initrd: image.initrd } as const);
      await launchQemu(podNs, {
        name: qemuGuestName(instanceId, spec.vmiUid),
        ...(boot.type === 'kernel'
          ? {
              kernel: boot.kernel,
              initrd: boot.initrd,
              ...('append' in boot && boot.append ? { append: boot.append } : {}),
            }
          : {}),
        drives,
        memoryMiB: spec.memoryMiB,
        cpus: spec.cpus,
        serialSocket: paths.serialSocket,
        paused: true,
        qmpSocket: paths.qmp,
        agentSocket: paths.agent,
        pidFile: paths.pidFile,
        nics: qemuNics,
        tbSizeMiB: options.tbSizeMiB ?? 32,
      });
      const pid = await readPidFile(paths.pidFile);
      if (!pid) throw new Error(`${where}: QEMU started but wrote no pid file`);
      existing?.detach();
      const session = new GuestSession(spec, paths, pid, emit);
      guests.set(spec.vmiUid, session);
      try {
        await session.attach();
        await session.resume();
      } catch (error) {
        await terminate(pid, 1_000);
        session.markGone(
          'Failed',
          `QEMU did not answer on QMP: ${error instanceof Error ? error.message : String(error)}`,
        );
        throw new Error(`${where}: ${session.reason}`, { cause: error });
      }
    });
  };

  const stopGuest = async (vmiUid: string, stopOptions?: { graceMs?: number }): Promise<void> => {
    await lock.run(`guest/${vmiUid}`, async () => {
      const session = guests.get(vmiUid);
      if (!session?.running) return;
      await session.stop(stopOptions?.graceMs ?? 10_000, 'stopped');
      await rm(session.paths.pidFile, { force: true });
      await removeGuestDisks(session.paths.dir);
    });
  };

  // ---- inventory and cleanup: read from the kernel and /proc, not from memory ----

  const inventory = async (): Promise<Inventory> => {
    const hostLinks = (await namespaceExists(hostNs)) ? await links(hostNs) : [];
    const networkIds = hostLinks
      .map((l) => networkIdOfAlias(l.alias))
      .filter((id): id is string => id !== undefined);
    const podUids: string[] = [];
    const vmiUids: string[] = [];
    for (const ns of await listNamespaces()) {
      const podUid = podUidOfNamespace(instanceId, ns);
      if (!podUid) continue;
      podUids.push(podUid);
      for (const pid of await namespacePids(ns)) {
        const cmdline = await commandLine(pid);
        const name = cmdline && isQemuCommand(cmdline) ? guestNameOf(cmdline) : undefined;
        const vmiUid = name ? vmiUidOfQemuName(instanceId, name) : undefined;
        if (vmiUid && (await isAlive(pid))) vmiUids.push(vmiUid);
      }
    }
    return { networks: networkIds.sort(), pods: podUids.sort(), guests: vmiUids.sort() };
  };

  const cleanupOrphans = async (keep: Partial<Inventory>): Promise<Inventory> => {
    assertOpen();
    const keepNetworks = new Set(keep.networks ?? []);
    const keepPods = new Set(keep.pods ?? []);
    const keepGuests = new Set(keep.guests ?? []);
    const removed: Inventory = { networks: [], pods: [], guests: [] };
    const found = await inventory();

    for (const ns of await listNamespaces()) {
      const podUid = podUidOfNamespace(instanceId, ns);
      if (!podUid) continue;
      for (const pid of await namespacePids(ns)) {
        const cmdline = await commandLine(pid);
        const name = cmdline && isQemuCommand(cmdline) ? guestNameOf(cmdline) : undefined;
        const vmiUid = name ? vmiUidOfQemuName(instanceId, name) : undefined;
        if (vmiUid && keepGuests.has(vmiUid)) continue;
        await terminate(pid, 1_000);
        if (vmiUid) {
          removed.guests.push(vmiUid);
          await lock.run(`guest/${vmiUid}`, () => forgetGuest(vmiUid));
        }
      }
    }
    for (const podUid of found.pods) {
      if (keepPods.has(podUid)) continue;
      await lock.run(`pod/${podUid}`, () => teardownPodNow(podUid));
      removed.pods.push(podUid);
    }
    // Host-side pod ports whose pod namespace is gone (e.g. deleted by hand), and their spoof-check entries.
    const livePods = new Set((await inventory()).pods);
    for (const hostLink of await links(hostNs)) {
      const port = podPortOfAlias(hostLink.alias);
      if (port && !livePods.has(port.podUid)) {
        await unguardPort(hostNs, hostLink.name);
        await deleteLink(hostNs, hostLink.name);
      }
    }
    const spoofchk = await readSpoofchk(hostNs);
    const hostLinkNames = new Set((await links(hostNs)).map((l) => l.name));
    for (const port of new Set([
      ...(spoofchk?.guarded ?? []),
      ...(spoofchk?.allowed.keys() ?? []),
    ])) {
      if (!hostLinkNames.has(port)) await unguardPort(hostNs, port);
    }
    for (const networkId of found.networks) {
      if (keepNetworks.has(networkId)) continue;
      await lock.run(`network/${networkId}`, () => removeNetworkNow(networkId));
      removed.networks.push(networkId);
    }
    // dnsmasq processes whose bridge is gone or not kept.
    const keptBridges = new Set([...keepNetworks].map((id) => bridgeName(id)));
    for (const pid of await namespacePids(hostNs)) {
      const cmdline = await commandLine(pid);
      if (cmdline && isDnsmasqCommand(cmdline) && !keptBridges.has(dnsmasqOf(cmdline).bridge ?? ''))
        await terminate(pid, 1_000);
    }
    for (const vmiUid of [...guests.keys()]) {
      const session = guests.get(vmiUid)!;
      if (!keepGuests.has(vmiUid) && !session.running && !keepPods.has(session.spec.podUid))
        await forgetGuest(vmiUid);
    }
    return removed;
  };

  const destroyAll = async (): Promise<void> => {
    for (const session of guests.values()) session.detach();
    guests.clear();
    const { left } = await removeInstance(instanceId, { graceMs: 1_000 });
    if (!holdsNothing(left))
      throw new Error(`qemu runtime ${instanceId}: could not remove ${JSON.stringify(left)}`);
    for (const dir of Object.values(dirs)) await rm(dir, { recursive: true, force: true });
    networks.clear();
    pods.clear();
  };

  const runtime: QemuRuntime = {
    name: 'qemu',
    instanceId,
    hostNamespace: hostNs,
    image,
    podNamespace: (podUid) => podNamespace(instanceId, podUid),

    async ensureNetwork(spec) {
      assertOpen();
      await ensureNetwork(spec);
    },
    async removeNetwork(networkId) {
      assertOpen();
      checkObjectId('networkId', networkId);
      await lock.run(`network/${networkId}`, () => removeNetworkNow(networkId));
    },
    async setupPod(request) {
      assertOpen();
      return setupPod(request);
    },
    async teardownPod(podUid) {
      assertOpen();
      checkObjectId('podUid', podUid);
      await lock.run(`pod/${podUid}`, () => teardownPodNow(podUid));
    },
    async startGuest(spec) {
      assertOpen();
      await startGuest(spec);
    },
    async stopGuest(vmiUid, stopOptions) {
      assertOpen();
      await stopGuest(vmiUid, stopOptions);
    },
    hasGuest(vmiUid) {
      return guests.has(vmiUid);
    },
    async observe(vmiUid): Promise<GuestObservation | undefined> {
      assertOpen();
      return guests.get(vmiUid)?.observe();
    },
    async nicStatistics(vmiUid): Promise<GuestNicStatistics[] | undefined> {
      assertOpen();
      const session = guests.get(vmiUid);
      if (!session?.running) return undefined;
      // QEMU runs in the pod's namespace, so its /proc view lists the pod's taps: a file read, no `ip` per scrape.
      const devices = await netDevices(session.pid);
      if (!devices) return undefined;
      return session.spec.nics.flatMap((nic, index) => {
        const tap = devices.get(tapName(index));
        return tap ? [guestSideOfTap(nic.name, tap)] : [];
      });
    },
    async exec(vmiUid, argv, execOptions): Promise<ExecResult> {
      assertOpen();
      if (
        !Array.isArray(argv) ||
        argv.length === 0 ||
        argv.some((arg) => typeof arg !== 'string')
      ) {
        throw new Error('guest-exec: command must be a non-empty array of strings');
      }
      const session = guests.get(vmiUid);
      if (!session) throw new Error(`guest-exec: no guest with vmi uid ${vmiUid} on this host`);
      return session.exec(argv, execOptions?.timeoutMs ?? 30_000);
    },
    async leases(networkId): Promise<Lease[]> {
      assertOpen();
      if (!networks.has(networkId)) return [];
      return readLeases(networkFiles(networkId).leases);
    },
    async createDisk(diskSpec) {
      assertOpen();
      checkDiskId(diskSpec.id);
      return lock.run(`disk/${diskSpec.id}`, () => createPersistentDisk(dirs.disks, diskSpec));
    },
    async deleteDisk(id) {
      assertOpen();
      checkDiskId(id);
      await lock.run(`disk/${id}`, () => deletePersistentDisk(dirs.disks, id));
    },
    async listDisks() {
      assertOpen();
      return listPersistentDisks(dirs.disks);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async inventory() {
      assertOpen();
      return inventory();
    },
    cleanupOrphans,
    async close(closeOptions) {
      if (closed) return;
      if (options.teardownOnClose) return runtime.destroyAll();
      if (closeOptions?.stopAll) {
        await Promise.all([...guests.keys()].map((vmiUid) => stopGuest(vmiUid)));
      }
      closed = true;
      for (const session of guests.values()) session.detach();
      listeners.clear();
    },
    async destroyAll() {
      closed = true;
      listeners.clear();
      await destroyAll();
    },
    async spoofDrops() {
      return (await readSpoofchk(hostNs))?.dropped.packets ?? 0;
    },
    async openConsole(vmiUid, handlers, consoleOptions): Promise<ConsoleConnection> {
      assertOpen();
      const session = guests.get(vmiUid);
      if (!session) throw new Error(`console: no guest with vmi uid ${vmiUid} on this host`);
      if (!session.running || !session.serial.connected)
        throw new Error(
          `console: the guest ${session.spec.namespace}/${session.spec.name} is ${session.state}`,
        );
      return session.serial.hub.open(handlers, consoleOptions);
    },
    async consoleLog(vmiUid) {
      const session = guests.get(vmiUid);
      return session ? (await session.serial.hub.log.read()).toString('utf8') : undefined;
    },
    guestPid(vmiUid) {
      const session = guests.get(vmiUid);
      return session?.running ? session.pid : undefined;
    },
    async setVxlanPeers(peers) {
      assertOpen();
      if (!localUnderlayIp)
        throw new Error(
          'setVxlanPeers: this runtime has no underlay (createQemuRuntime underlay option)',
        );
      vxlanPeers = [...new Set(peers)].filter((p) => p !== localUnderlayIp).sort();
      for (const id of networks.keys())
        await lock.run(`network/${id}`, () => setVxlanPeersOf(hostNs, id, vxlanPeers));
    },
  };
  return runtime;
}
