// Multus annotations on a launcher Pod: the request (`k8s.v1.cni.cncf.io/networks`, and Harrow's pod-network request)
// and the network-status the plugin writes back — read and written here only. Pure: the web UI imports it too.
import {
  ANNOTATION_NETWORKS,
  ANNOTATION_NETWORK_STATUS,
  type NetworkSelectionElement,
  type NetworkStatusEntry,
  type Pod,
} from '../resources/types.ts';

/** Pod annotation for the pod network (`pod: {}`) interface: `{mac, interface: 'eth0'}`, so the plugin creates it too. */
export const ANNOTATION_POD_NETWORK = 'harrow.io/pod-network';

export interface PodNetworkRequest {
  mac?: string;
  interface: string;
}

const parseJson = (text: string | undefined): unknown => {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The network-status the plugin wrote on the pod (entries without a name are dropped), or undefined while the pod's
 * networks are not set up (no annotation, or one that does not parse as a list).
 */
export function networkStatusOf(pod: Pod | undefined): NetworkStatusEntry[] | undefined {
  const parsed = parseJson(pod?.metadata.annotations?.[ANNOTATION_NETWORK_STATUS]);
  if (!Array.isArray(parsed)) return undefined;
  return parsed.filter((e): e is NetworkStatusEntry => isObject(e) && typeof e.name === 'string');
}

/** The annotation value for a network-status. */
export const formatNetworkStatus = (entries: NetworkStatusEntry[]): string =>
  JSON.stringify(entries);

/** The Multus networks annotation of a pod (JSON form; the legacy comma-separated `ns/name@if` form is also read). */
export function podNetworkSelections(pod: Pod): NetworkSelectionElement[] {
  const raw = pod.metadata.annotations?.[ANNOTATION_NETWORKS];
  if (raw === undefined || raw.trim() === '') return [];
  const parsed = parseJson(raw);
  if (Array.isArray(parsed))
    return parsed.filter(
      (e): e is NetworkSelectionElement => isObject(e) && typeof e.name === 'string',
    );
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

/** Harrow's pod-network request of a pod, when it has one. */
export function podNetworkOf(pod: Pod): PodNetworkRequest | undefined {
  const parsed = parseJson(pod.metadata.annotations?.[ANNOTATION_POD_NETWORK]);
  if (!isObject(parsed)) return undefined;
  return {
    interface: typeof parsed.interface === 'string' ? parsed.interface : 'eth0',
    ...(typeof parsed.mac === 'string' && parsed.mac ? { mac: parsed.mac } : {}),
  };
}

/** The platform's MAC of one pod interface (what the seed says the UI shows). */
export function podInterfaceMac(
  status: NetworkStatusEntry[] | undefined,
  podIfName: string,
): string | undefined {
  return status?.find((e) => e.interface === podIfName)?.mac?.toLowerCase();
}

/**
 * The network-status entry of one interface: by its pod interface name when known, else by network name (Multus writes
 * `namespace/name`), else the default entry for the pod network (`network` undefined).
 */
export function networkStatusEntryFor(
  entries: NetworkStatusEntry[],
  podInterfaceName: string | undefined,
  network: string | undefined,
  namespace: string,
): NetworkStatusEntry | undefined {
  if (podInterfaceName !== undefined) {
    const byIface = entries.find((e) => e.interface === podInterfaceName);
    if (byIface) return byIface;
  }
  if (network === undefined) return entries.find((e) => e.default === true);
  const qualified = network.includes('/') ? network : `${namespace}/${network}`;
  return entries.find((e) => e.name === qualified || e.name === network);
}
