// The real runtime: pods are network namespaces wired to per-network bridges, guests are QEMU (TCG) processes in them.
// This file assembles it from its parts: host.ts (what an instance holds), networks.ts, pods.ts, guests.ts,
// guest-access.ts (observation, exec, console), persistent-disks.ts and inventory.ts.
import { mkdir } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { Inventory, Runtime, RuntimeEvent } from '../types.ts';
import {
  guestConsoleLog,
  guestExec,
  guestNicStatistics,
  observeGuest,
  openGuestConsole,
} from './guest-access.ts';
import { startGuest, stopGuest } from './guests.ts';
import { restoreRecords, type QemuHost } from './host.ts';
import { buildGuestImage, defaultGuestCacheDir, type GuestImage } from './image.ts';
import { cleanupOrphans, destroyAll, inventory } from './inventory.ts';
import { ensureNamespace } from './ip.ts';
import { KeyedLock } from './keyed-lock.ts';
import { checkInstanceId, checkObjectId, hostNamespace, podNamespace } from './names.ts';
import {
  ensureNetwork,
  networkLeases,
  pruneNetworkFixedAddresses,
  removeNetworkNow,
  setVxlanPeers,
} from './networks.ts';
import { ensureSpoofchkTable, readSpoofchk } from './nft.ts';
import {
  checkDiskId,
  createPersistentDisk,
  deletePersistentDisk,
  listPersistentDisks,
} from './persistent-disks.ts';
import { setupPod, teardownPodNow } from './pods.ts';
import { guestFiles, stateSubdirs } from './state-dir.ts';
import { ensureUnderlay, underlayIp, type Underlay } from './vxlan.ts';

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

const SOCKET_PATH_MAX = 107;

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

  const listeners = new Set<(event: RuntimeEvent) => void>();
  let closed = false;
  const host: QemuHost = {
    instanceId,
    stateDir,
    dirs,
    hostNs,
    image,
    tbSizeMiB: options.tbSizeMiB ?? 32,
    localUnderlayIp: options.underlay ? underlayIp(options.underlay) : undefined,
    vxlanPeers: [],
    networks: new Map(),
    pods: new Map(),
    guests: new Map(),
    lock: new KeyedLock(),
    emit: (event) => {
      for (const listener of [...listeners]) {
        try {
          listener(event);
        } catch {
          // A listener's failure is its own; the next one still hears the event.
        }
      }
    },
  };
  const assertOpen = (): void => {
    if (closed) throw new Error(`qemu runtime ${instanceId} is closed`);
  };
  const { guests, lock } = host;
  await restoreRecords(host);

  const runtime: QemuRuntime = {
    name: 'qemu',
    instanceId,
    hostNamespace: hostNs,
    image,
    podNamespace: (podUid) => podNamespace(instanceId, podUid),

    async ensureNetwork(spec) {
      assertOpen();
      await ensureNetwork(host, spec);
    },
    async removeNetwork(networkId) {
      assertOpen();
      checkObjectId('networkId', networkId);
      await lock.run(`network/${networkId}`, () => removeNetworkNow(host, networkId));
    },
    async setupPod(request) {
      assertOpen();
      return setupPod(host, request);
    },
    async teardownPod(podUid) {
      assertOpen();
      checkObjectId('podUid', podUid);
      await lock.run(`pod/${podUid}`, () => teardownPodNow(host, podUid));
    },
    async startGuest(spec) {
      assertOpen();
      await startGuest(host, spec);
    },
    async stopGuest(vmiUid, stopOptions) {
      assertOpen();
      await stopGuest(host, vmiUid, stopOptions);
    },
    hasGuest(vmiUid) {
      return guests.has(vmiUid);
    },
    async observe(vmiUid) {
      assertOpen();
      return observeGuest(host, vmiUid);
    },
    async nicStatistics(vmiUid) {
      assertOpen();
      return guestNicStatistics(host, vmiUid);
    },
    async exec(vmiUid, argv, execOptions) {
      assertOpen();
      return guestExec(host, vmiUid, argv, execOptions);
    },
    async leases(networkId) {
      assertOpen();
      return networkLeases(host, networkId);
    },
    async pruneFixedAddresses(networkId, keep) {
      assertOpen();
      checkObjectId('networkId', networkId);
      return pruneNetworkFixedAddresses(host, networkId, keep);
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
      return inventory(host);
    },
    async cleanupOrphans(keep) {
      assertOpen();
      return cleanupOrphans(host, keep);
    },
    async close(closeOptions) {
      if (closed) return;
      if (options.teardownOnClose) return runtime.destroyAll();
      if (closeOptions?.stopAll) {
        await Promise.all([...guests.keys()].map((vmiUid) => stopGuest(host, vmiUid)));
      }
      closed = true;
      for (const session of guests.values()) session.detach();
      listeners.clear();
    },
    async destroyAll() {
      closed = true;
      listeners.clear();
      await destroyAll(host);
    },
    async spoofDrops() {
      return (await readSpoofchk(hostNs))?.dropped.packets ?? 0;
    },
    async openConsole(vmiUid, handlers, consoleOptions) {
      assertOpen();
      return openGuestConsole(host, vmiUid, handlers, consoleOptions);
    },
    async consoleLog(vmiUid) {
      return guestConsoleLog(host, vmiUid);
    },
    guestPid(vmiUid) {
      const session = guests.get(vmiUid);
      return session?.running ? session.pid : undefined;
    },
    async setVxlanPeers(peers) {
      assertOpen();
      await setVxlanPeers(host, peers);
    },
  };
  return runtime;
}
