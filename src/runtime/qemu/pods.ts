// Pods on a qemu host, the CNI role: a network namespace per pod whose interfaces are veths created with the
// platform's MAC, their host ends on the network's bridge behind the MAC spoof check.
import { rm, writeFile } from 'node:fs/promises';
import { validateMac } from '../../mac/index.ts';
import { checkFixedAddress } from '../network-spec.ts';
import type { PodInterfaceRequest, PodInterfaceStatus, PodNetworkRequest } from '../types.ts';
import { applyFixedAddress } from './fixed-addresses.ts';
import { dnsmasqOfNetwork } from './networks.ts';
import { forgetGuest } from './guests.ts';
import { podFileOf, type PodRecord, type QemuHost } from './host.ts';
import {
  addVethPair,
  deleteLink,
  deleteNamespace,
  ensureNamespace,
  link,
  links,
  namespaceExists,
  namespacePids,
  setLink,
} from './ip.ts';
import {
  bridgeName,
  checkInterfaceName,
  checkObjectId,
  hostVethName,
  podNamespace,
  podPortAlias,
  podPortOfAlias,
} from './names.ts';
import { guardPort, unguardPort } from './nft.ts';
import { terminate } from './procfs.ts';

function checkPodRequest(host: QemuHost, request: PodNetworkRequest): void {
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
    if (!host.networks.has(iface.network.id)) {
      throw new Error(
        `${field}.network ${iface.network.name} (${iface.network.id}) is not set up on this host; ensureNetwork first`,
      );
    }
    if (iface.ipAddress !== undefined)
      checkFixedAddress(iface.network, `${field}.ipAddress`, iface.ipAddress);
  });
}

/** The interface's fixed address follows it to its MAC on the network's dnsmasq (PodInterfaceRequest.ipAddress). */
async function fixAddress(host: QemuHost, iface: PodInterfaceRequest): Promise<void> {
  await host.lock.run(`network/${iface.network.id}`, async () =>
    applyFixedAddress(dnsmasqOfNetwork(host, iface.network), iface.mac, iface.ipAddress),
  );
}

export async function setupPod(
  host: QemuHost,
  input: PodNetworkRequest,
): Promise<PodInterfaceStatus[]> {
  const { hostNs, pods, guests } = host;
  const request = structuredClone(input);
  checkPodRequest(host, request);
  return host.lock.run(`pod/${request.podUid}`, async () => {
    const podNs = podNamespace(host.instanceId, request.podUid);
    const known = pods.get(request.podUid);
    if (
      known &&
      JSON.stringify(known.request) === JSON.stringify(request) &&
      (await namespaceExists(podNs))
    ) {
      return structuredClone(known.statuses);
    }
    if (known && [...guests.values()].some((g) => g.spec.podUid === request.podUid && g.running)) {
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
      await fixAddress(host, iface);
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
    await writeFile(podFileOf(host, request.podUid), JSON.stringify(record, null, 2));
    pods.set(request.podUid, record);
    return structuredClone(statuses);
  });
}

/** Removes a pod's guest, processes, ports, spoof-check entries and namespace; the caller holds `pod/<uid>`. */
export async function teardownPodNow(host: QemuHost, podUid: string): Promise<void> {
  const { hostNs } = host;
  const podNs = podNamespace(host.instanceId, podUid);
  // Deleting the launcher pod takes its guest with it.
  for (const session of [...host.guests.values()].filter((g) => g.spec.podUid === podUid)) {
    await session.stop(0, 'launcher pod deleted');
    await forgetGuest(host, session.spec.vmiUid);
  }
  for (const pid of await namespacePids(podNs)) await terminate(pid, 1_000);
  for (const hostLink of await links(hostNs)) {
    if (podPortOfAlias(hostLink.alias)?.podUid !== podUid) continue;
    await unguardPort(hostNs, hostLink.name);
    await deleteLink(hostNs, hostLink.name);
  }
  for (const iface of host.pods.get(podUid)?.request.interfaces ?? []) {
    const hostEnd = hostVethName(podUid, iface.podInterfaceName);
    await unguardPort(hostNs, hostEnd);
    await deleteLink(hostNs, hostEnd);
  }
  await deleteNamespace(podNs);
  await rm(podFileOf(host, podUid), { force: true });
  host.pods.delete(podUid);
}
