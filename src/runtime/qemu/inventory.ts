// What a qemu runtime instance has on this host, read from the kernel and /proc rather than from memory, and the
// removal of what it should not have (orphans) or of everything (destroyAll).
import { rm } from 'node:fs/promises';
import type { Inventory } from '../types.ts';
import { dnsmasqOf, isDnsmasqCommand } from './dnsmasq.ts';
import { forgetGuest } from './guests.ts';
import type { QemuHost } from './host.ts';
import { deleteLink, links, listNamespaces, namespaceExists, namespacePids } from './ip.ts';
import {
  bridgeName,
  networkIdOfAlias,
  podPortOfAlias,
  podUidOfNamespace,
  vmiUidOfQemuName,
} from './names.ts';
import { removeNetworkNow } from './networks.ts';
import { readSpoofchk, unguardPort } from './nft.ts';
import { teardownPodNow } from './pods.ts';
import { commandLine, isAlive, terminate } from './procfs.ts';
import { guestNameOf, isQemuCommand } from './qemu.ts';
import { holdsNothing, removeInstance } from './teardown.ts';

/** The VMI a process in one of this instance's pod namespaces runs, when it is one of its QEMUs. */
async function vmiUidOfProcess(host: QemuHost, pid: number): Promise<string | undefined> {
  const cmdline = await commandLine(pid);
  const name = cmdline && isQemuCommand(cmdline) ? guestNameOf(cmdline) : undefined;
  return name ? vmiUidOfQemuName(host.instanceId, name) : undefined;
}

export async function inventory(host: QemuHost): Promise<Inventory> {
  const hostLinks = (await namespaceExists(host.hostNs)) ? await links(host.hostNs) : [];
  const networkIds = hostLinks
    .map((l) => networkIdOfAlias(l.alias))
    .filter((id): id is string => id !== undefined);
  const podUids: string[] = [];
  const vmiUids: string[] = [];
  for (const ns of await listNamespaces()) {
    const podUid = podUidOfNamespace(host.instanceId, ns);
    if (!podUid) continue;
    podUids.push(podUid);
    for (const pid of await namespacePids(ns)) {
      const vmiUid = await vmiUidOfProcess(host, pid);
      if (vmiUid && (await isAlive(pid))) vmiUids.push(vmiUid);
    }
  }
  return { networks: networkIds.sort(), pods: podUids.sort(), guests: vmiUids.sort() };
}

/** Removes what inventory() finds and `keep` does not name; returns what was removed. */
export async function cleanupOrphans(host: QemuHost, keep: Partial<Inventory>): Promise<Inventory> {
  const { hostNs, lock } = host;
  const keepNetworks = new Set(keep.networks ?? []);
  const keepPods = new Set(keep.pods ?? []);
  const keepGuests = new Set(keep.guests ?? []);
  const removed: Inventory = { networks: [], pods: [], guests: [] };
  const found = await inventory(host);

  for (const ns of await listNamespaces()) {
    if (!podUidOfNamespace(host.instanceId, ns)) continue;
    for (const pid of await namespacePids(ns)) {
      const vmiUid = await vmiUidOfProcess(host, pid);
      if (vmiUid && keepGuests.has(vmiUid)) continue;
      await terminate(pid, 1_000);
      if (vmiUid) {
        removed.guests.push(vmiUid);
        await lock.run(`guest/${vmiUid}`, () => forgetGuest(host, vmiUid));
      }
    }
  }
  for (const podUid of found.pods) {
    if (keepPods.has(podUid)) continue;
    await lock.run(`pod/${podUid}`, () => teardownPodNow(host, podUid));
    removed.pods.push(podUid);
  }
  // Host-side pod ports whose pod namespace is gone (e.g. deleted by hand), and their spoof-check entries.
  const livePods = new Set((await inventory(host)).pods);
  for (const hostLink of await links(hostNs)) {
    const port = podPortOfAlias(hostLink.alias);
    if (port && !livePods.has(port.podUid)) {
      await unguardPort(hostNs, hostLink.name);
      await deleteLink(hostNs, hostLink.name);
    }
  }
  const spoofchk = await readSpoofchk(hostNs);
  const hostLinkNames = new Set((await links(hostNs)).map((l) => l.name));
  for (const port of new Set([...(spoofchk?.guarded ?? []), ...(spoofchk?.allowed.keys() ?? [])])) {
    if (!hostLinkNames.has(port)) await unguardPort(hostNs, port);
  }
  for (const networkId of found.networks) {
    if (keepNetworks.has(networkId)) continue;
    await lock.run(`network/${networkId}`, () => removeNetworkNow(host, networkId));
    removed.networks.push(networkId);
  }
  // dnsmasq processes whose bridge is gone or not kept.
  const keptBridges = new Set([...keepNetworks].map((id) => bridgeName(id)));
  for (const pid of await namespacePids(hostNs)) {
    const cmdline = await commandLine(pid);
    if (cmdline && isDnsmasqCommand(cmdline) && !keptBridges.has(dnsmasqOf(cmdline).bridge ?? ''))
      await terminate(pid, 1_000);
  }
  for (const vmiUid of [...host.guests.keys()]) {
    const session = host.guests.get(vmiUid)!;
    if (!keepGuests.has(vmiUid) && !session.running && !keepPods.has(session.spec.podUid))
      await forgetGuest(host, vmiUid);
  }
  return removed;
}

/** Removes everything this instance created: QEMU and dnsmasq processes, pod and host namespaces, its state files. */
export async function destroyAll(host: QemuHost): Promise<void> {
  for (const session of host.guests.values()) session.detach();
  host.guests.clear();
  const { left } = await removeInstance(host.instanceId, { graceMs: 1_000 });
  if (!holdsNothing(left))
    throw new Error(`qemu runtime ${host.instanceId}: could not remove ${JSON.stringify(left)}`);
  for (const dir of Object.values(host.dirs)) await rm(dir, { recursive: true, force: true });
  host.networks.clear();
  host.pods.clear();
}
