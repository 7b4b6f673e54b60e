// The sim runtime: an in-process L2 world (networks with DHCP, pod ports with a MAC spoof check, busybox guests) behind Runtime.
// This file assembles it from its parts: world.ts (what it holds), l2.ts, networks.ts, pods.ts, guests.ts, power.ts,
// guest-machine.ts (the guest's userland), guest-access.ts (observation, exec, console) and guest-disks.ts.
import type { Inventory, Runtime } from '../types.ts';
import { BootQueue } from './boot-queue.ts';
import {
  guestConsoleLog,
  guestExec,
  guestNicStatistics,
  observeGuest,
  openGuestConsole,
} from './guest-access.ts';
import { newSimDisk } from './guest-disks.ts';
import { crashGuest, startGuest, stopGuest } from './guests.ts';
import { ensureNetwork, networkLeases, pruneFixedAddresses, removeNetwork } from './networks.ts';
import { setupPod, teardownPod } from './pods.ts';
import type { SimWorld } from './world.ts';

export interface SimRuntimeOptions {
  /** Time from startGuest (or an in-guest reboot) until the guest has run DHCP and its agent connects; default 50 ms. */
  bootMs?: number;
  /** Wall clock in epoch ms for lease times; inject one to move time forward in tests. */
  clock?: () => number;
  /** DHCP lease time handed out by every network; default 3600 (dnsmasq's default), Infinity for infinite leases. */
  dhcpLeaseSeconds?: number;
}

export interface SimRuntime extends Runtime {
  readonly name: 'sim';
  /** Test hook: the guest's process dies — state Failed and a guest-failed event. */
  crash(vmiUid: string, reason?: string): void;
}

export function createSimRuntime(options: SimRuntimeOptions = {}): SimRuntime {
  const bootMs = options.bootMs ?? 50;
  const leaseSeconds = options.dhcpLeaseSeconds ?? 3600;
  if (!Number.isFinite(bootMs) || bootMs < 0)
    throw new Error(`sim runtime: bootMs must be a finite number >= 0, got ${bootMs}`);
  if (!(leaseSeconds > 0))
    throw new Error(`sim runtime: dhcpLeaseSeconds must be > 0 or Infinity, got ${leaseSeconds}`);

  const world: SimWorld = {
    clock: options.clock ?? Date.now,
    leaseSeconds,
    networks: new Map(),
    pods: new Map(),
    guests: new Map(),
    disks: new Map(),
    listeners: new Set(),
    boots: new BootQueue(bootMs),
    closed: false,
  };
  const { networks, pods, guests, disks, listeners } = world;

  const assertOpen = (): void => {
    if (world.closed) throw new Error('sim runtime is closed');
  };

  const runtime: SimRuntime = {
    name: 'sim',

    async ensureNetwork(spec) {
      assertOpen();
      ensureNetwork(world, spec);
    },
    async removeNetwork(networkId) {
      assertOpen();
      removeNetwork(world, networkId);
    },
    async setupPod(request) {
      assertOpen();
      return setupPod(world, request);
    },
    async teardownPod(podUid) {
      assertOpen();
      teardownPod(world, podUid);
    },
    async startGuest(spec) {
      assertOpen();
      startGuest(world, spec);
    },
    async stopGuest(vmiUid) {
      assertOpen();
      stopGuest(world, vmiUid);
    },
    hasGuest(vmiUid) {
      return guests.has(vmiUid);
    },
    async observe(vmiUid) {
      assertOpen();
      return observeGuest(world, vmiUid);
    },
    async nicStatistics(vmiUid) {
      assertOpen();
      return guestNicStatistics(world, vmiUid);
    },
    async exec(vmiUid, argv) {
      assertOpen();
      return guestExec(world, vmiUid, argv);
    },
    async openConsole(vmiUid, handlers, consoleOptions) {
      assertOpen();
      return openGuestConsole(world, vmiUid, handlers, consoleOptions);
    },
    async consoleLog(vmiUid) {
      return guestConsoleLog(world, vmiUid);
    },
    async leases(networkId, macs) {
      assertOpen();
      return networkLeases(world, networkId, macs);
    },
    async pruneFixedAddresses(networkId, keep) {
      assertOpen();
      return pruneFixedAddresses(world, networkId, keep);
    },

    async createDisk(diskSpec) {
      assertOpen();
      let disk = disks.get(diskSpec.id);
      if (!disk) {
        const content = diskSpec.content;
        disk = newSimDisk(
          diskSpec.capacityBytes,
          content,
          content.type === 'disk' ? disks.get(content.diskId) : undefined,
        );
        disks.set(diskSpec.id, disk);
      }
      return { capacityBytes: disk.capacityBytes };
    },
    async deleteDisk(id) {
      assertOpen();
      disks.delete(id);
    },
    async listDisks() {
      assertOpen();
      return [...disks.keys()].sort();
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async inventory(): Promise<Inventory> {
      assertOpen();
      return { networks: [...networks.keys()], pods: [...pods.keys()], guests: [...guests.keys()] };
    },
    async close() {
      world.closed = true;
      for (const guest of guests.values()) guest.console.closeAll('the runtime closed');
      world.boots.clear();
      listeners.clear();
    },

    crash(vmiUid, reason = 'qemu process exited unexpectedly (simulated crash)') {
      assertOpen();
      crashGuest(world, vmiUid, reason);
    },
  };
  return runtime;
}
