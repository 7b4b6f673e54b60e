// The host network a VMI network attaches to: the built-in pod network, or its NetworkAttachmentDefinition's (read
// through the NAD informer's cache, else the store).
import { NotFound } from '../resources/errors.ts';
import { POD_NETWORK, POD_NETWORK_NAME, nadNetwork } from '../resources/nad.ts';
import type { Network, NetworkAttachmentDefinition } from '../resources/types.ts';
import { nadRefOf } from '../network/interface-plans.ts';
import type { NetworkSpec } from '../runtime/types.ts';
import type { ResourceStore } from '../store/types.ts';

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
