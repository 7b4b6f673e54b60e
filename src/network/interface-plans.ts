// How a VMI's interfaces meet its networks: each spec interface with its network, its pod interface name (KubeVirt's
// naming) and NAD, and the Multus request the launcher pod carries for them.
import { createHash } from 'node:crypto';
import type { Interface, Network, NetworkSelectionElement, VMISpec } from '../resources/types.ts';
import type { PodNetworkRequest } from './multus.ts';

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
  return interfacePlans(spec, namespace).flatMap((p) =>
    p.nad === undefined
      ? []
      : [
          {
            name: p.nad.name,
            namespace: p.nad.namespace,
            ...(p.iface.macAddress ? { mac: p.iface.macAddress } : {}),
            interface: p.podInterfaceName,
          },
        ],
  );
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
