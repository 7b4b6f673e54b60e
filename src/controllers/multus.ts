// The Multus concern: how a VMI's networks become the launcher Pod's network request (annotation) and how the
// network-status the plugin writes back is read; pod interface naming follows KubeVirt.
import { createHash } from 'node:crypto';
import { NotFound } from '../resources/errors.ts';
import { POD_NETWORK, POD_NETWORK_NAME, nadNetwork } from '../resources/nad.ts';
import {
  ANNOTATION_NETWORKS,
  ANNOTATION_NETWORK_STATUS,
  type Interface,
  type Network,
  type NetworkAttachmentDefinition,
  type NetworkSelectionElement,
  type NetworkStatusEntry,
  type Pod,
  type VirtualMachineInstance,
  type VMISpec,
} from '../resources/types.ts';
import { interfacesOf } from '../resources/virtualmachine.ts';
import type { NetworkSpec } from '../runtime/types.ts';
import type { ResourceStore } from '../store/types.ts';

/** Pod annotation for the pod network (`pod: {}`) interface: `{mac, interface: 'eth0'}`, so the plugin creates it too. */
export const ANNOTATION_POD_NETWORK = 'harrow.io/pod-network';

export interface PodNetworkRequest {
  mac?: string;
  interface: string;
}

/** KubeVirt's hashed naming: `pod` + the first 11 hex digits of sha256(network name); `eth0` for the pod network. */
export function podInterfaceName(network: Network): string {
  if (network.pod !== undefined) return 'eth0';
  return `pod${createHash('sha256').update(network.name).digest('hex').slice(0, 11)}`;
}

/** `namespace/name` of the NAD a multus network names (a bare name is in the VMI's namespace). */
export function nadRefOf(
  network: Network,
  namespace: string,
): { namespace: string; name: string } | undefined {
  const target = network.multus?.networkName;
  if (!target) return undefined;
  const i = target.indexOf('/');
  return i < 0
    ? { namespace, name: target }
    : { namespace: target.slice(0, i), name: target.slice(i + 1) };
}

export interface InterfacePlan {
  iface: Interface;
  network: Network;
  podInterfaceName: string;
  nad?: { namespace: string; name: string };
}

/** Each spec interface with its network (same name) and pod interface name; interfaces without a network are skipped. */
export function interfacePlans(spec: VMISpec, namespace: string): InterfacePlan[] {
  const networks = new Map((spec.networks ?? []).map((n) => [n.name, n]));
  const out: InterfacePlan[] = [];
  for (const iface of spec.domain?.devices?.interfaces ?? []) {
    const network = networks.get(iface.name);
    if (!network) continue;
    const nad = nadRefOf(network, namespace);
    out.push({
      iface,
      network,
      podInterfaceName: podInterfaceName(network),
      ...(nad ? { nad } : {}),
    });
  }
  return out;
}

/** The Multus request for each multus interface (NetworkSelectionElement with the MAC asked for). */
export function networkSelectionElements(
  spec: VMISpec,
  namespace: string,
): NetworkSelectionElement[] {
  return interfacePlans(spec, namespace)
    .filter((p) => p.nad !== undefined)
    .map((p) => ({
      name: (p.nad as { name: string }).name,
      namespace: (p.nad as { namespace: string }).namespace,
      ...(p.iface.macAddress ? { mac: p.iface.macAddress } : {}),
      interface: p.podInterfaceName,
    }));
}

/** The pod network request, when the VMI has a `pod: {}` interface. */
export function podNetworkRequest(spec: VMISpec, namespace: string): PodNetworkRequest | undefined {
  const p = interfacePlans(spec, namespace).find((x) => x.network.pod !== undefined);
  if (!p) return undefined;
  return {
    ...(p.iface.macAddress ? { mac: p.iface.macAddress } : {}),
    interface: p.podInterfaceName,
  };
}

const parseJson = (text: string | undefined): unknown => {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** The Multus networks annotation of a pod (JSON form; the legacy comma-separated `ns/name@if` form is also read). */
export function podNetworkSelections(pod: Pod): NetworkSelectionElement[] {
  const raw = pod.metadata.annotations?.[ANNOTATION_NETWORKS];
  if (raw === undefined || raw.trim() === '') return [];
  const parsed = parseJson(raw);
  if (Array.isArray(parsed))
    return parsed.filter((e): e is NetworkSelectionElement => typeof e?.name === 'string');
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const [ref, iface] = s.split('@') as [string, string | undefined];
      const i = ref.indexOf('/');
      const namespace = i < 0 ? pod.metadata.namespace : ref.slice(0, i);
      return {
        name: i < 0 ? ref : ref.slice(i + 1),
        ...(namespace ? { namespace } : {}),
        ...(iface ? { interface: iface } : {}),
      };
    });
}

export function podNetworkOf(pod: Pod): PodNetworkRequest | undefined {
  const parsed = parseJson(pod.metadata.annotations?.[ANNOTATION_POD_NETWORK]);
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const r = parsed as Record<string, unknown>;
  return {
    interface: typeof r.interface === 'string' ? r.interface : 'eth0',
    ...(typeof r.mac === 'string' && r.mac ? { mac: r.mac } : {}),
  };
}

/** The network-status the plugin wrote, or undefined while the pod's networks are not set up. */
export function networkStatusOf(pod: Pod | undefined): NetworkStatusEntry[] | undefined {
  const parsed = parseJson(pod?.metadata.annotations?.[ANNOTATION_NETWORK_STATUS]);
  return Array.isArray(parsed) ? (parsed as NetworkStatusEntry[]) : undefined;
}

/**
 * The MACs a VM's instance and launcher pods still use (lower case, may repeat): the instance's spec and platform
 * status, the pods' network selections, pod network and network-status. While any of them uses a MAC, the pool keeps it
 * in use; pool-gc and fsck both apply this one rule.
 */
export function instanceMacs(
  vmi: VirtualMachineInstance | undefined,
  pods: Iterable<Pod>,
): string[] {
  const macs: Array<string | undefined> = [];
  for (const iface of interfacesOf(vmi?.spec)) macs.push(iface.macAddress);
  for (const s of vmi?.status?.interfaces ?? [])
    if (s.infoSource !== 'guest-agent') macs.push(s.mac);
  for (const pod of pods) {
    for (const e of podNetworkSelections(pod)) macs.push(e.mac);
    macs.push(podNetworkOf(pod)?.mac);
    for (const e of networkStatusOf(pod) ?? []) macs.push(e.mac);
  }
  return macs
    .filter((m): m is string => typeof m === 'string' && m !== '')
    .map((m) => m.toLowerCase());
}

/** The platform's MAC of one pod interface (what the seed says the UI shows). */
export function podInterfaceMac(
  status: NetworkStatusEntry[] | undefined,
  podIfName: string,
): string | undefined {
  return status?.find((e) => e.interface === podIfName)?.mac?.toLowerCase();
}

/** A cache of NADs by `namespace/name` (the shared NAD informer); a miss falls through to the store. */
export interface NadCache {
  get(key: string): NetworkAttachmentDefinition | undefined;
}

/** The host network a VMI network attaches to: the built-in pod network, or the NAD's. Throws NotFound without the NAD. */
export async function resolveNetwork(
  store: ResourceStore,
  network: Network,
  namespace: string,
  cache?: NadCache,
): Promise<NetworkSpec> {
  if (network.pod !== undefined) return POD_NETWORK;
  const ref = nadRefOf(network, namespace);
  if (!ref) throw new NotFound(`network ${network.name} has neither pod nor multus source`);
  return resolveNad(store, ref, cache);
}

export async function resolveNad(
  store: ResourceStore,
  ref: { namespace: string; name: string },
  cache?: NadCache,
): Promise<NetworkSpec> {
  const nad =
    cache?.get(`${ref.namespace}/${ref.name}`) ??
    ((await store.get({ kind: 'NetworkAttachmentDefinition', ...ref })) as
      NetworkAttachmentDefinition | undefined);
  if (!nad) {
    throw new NotFound(
      `network-attachment-definitions.k8s.cni.cncf.io "${ref.name}" not found in namespace ${ref.namespace}`,
      {
        name: ref.name,
        group: 'k8s.cni.cncf.io',
        kind: 'network-attachment-definitions',
      },
    );
  }
  return nadNetwork(nad);
}

export const networkStatusName = (network: NetworkSpec): string =>
  network.id === POD_NETWORK.id ? POD_NETWORK_NAME : network.name;
