// KubeVirt's default network: a VMI spec with no interfaces and no networks gets one interface `default` on the pod
// network, unless `domain.devices.autoattachPodInterface` is false.
import type { VMISpec } from './types.ts';

export const DEFAULT_NETWORK_NAME = 'default';

/**
 * Adds the pod interface KubeVirt attaches by default (mutates `spec`); returns whether it did. KubeVirt's binding for
 * it is a cluster setting; Harrow uses masquerade, the binding KubeVirt recommends for the pod network.
 */
export function attachDefaultPodInterface(spec: VMISpec): boolean {
  const devices = spec.domain?.devices;
  if (typeof devices !== 'object' || devices === null) return false;
  if (devices.autoattachPodInterface === false) return false;
  const interfaces: unknown = devices.interfaces;
  const networks: unknown = spec.networks;
  const empty = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.length === 0);
  if (!empty(interfaces) || !empty(networks)) return false;
  devices.interfaces = [{ name: DEFAULT_NETWORK_NAME, masquerade: {} }];
  spec.networks = [{ name: DEFAULT_NETWORK_NAME, pod: {} }];
  return true;
}
