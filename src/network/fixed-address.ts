// A fixed IPv4 address for a VM interface, asked for as Harvester asks for it: the annotation
// `static-ip.harvesterhci.io/<interface name>: <address>` on the VirtualMachine (or on a bare VMI). The address belongs
// to the VM and the interface, not to a MAC: the network's DHCP server reserves it for whatever MAC the interface has.
// The rules an address must meet on its network, and the name of the record that makes it unique there. Pure.
import { type Cidr, broadcastOf, formatIpv4, isHostOf, parseCidr, parseIpv4 } from '../ip/ipv4.ts';
import { fieldInvalid, type StatusCause } from '../resources/errors.ts';
import { ANNOTATION_STATIC_IP_PREFIX, type VMISpec } from '../resources/types.ts';
import { interfacePlans } from './interface-plans.ts';
import { fixedAddressesOf } from './static-ip.ts';

export { ANNOTATION_STATIC_IP_PREFIX, fixedAddressesOf };

/** The field path a cause names for an interface's fixed address. */
export const staticIpField = (iface: string): string =>
  `metadata.annotations[${ANNOTATION_STATIC_IP_PREFIX}${iface}]`;

/** Only the fixed-address annotations of `annotations` (what a VM hands on to the instances it starts). */
export function fixedAddressAnnotations(
  annotations: Record<string, string> | undefined,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(annotations ?? {}).filter(([key]) =>
      key.startsWith(ANNOTATION_STATIC_IP_PREFIX),
    ),
  );
}

/**
 * How a VM's fixed addresses differ from those its running instance was started with, one line per interface
 * (`interface default: fixed address 198.18.7.10 → 198.18.7.11`, `(none)` for an absent one): a restart applies them.
 */
export function fixedAddressChanges(
  vmAnnotations: Record<string, string> | undefined,
  instanceAnnotations: Record<string, string> | undefined,
): string[] {
  const wanted = fixedAddressesOf(vmAnnotations);
  const running = fixedAddressesOf(instanceAnnotations);
  return [...new Set([...running.keys(), ...wanted.keys()])]
    .filter((iface) => wanted.get(iface) !== running.get(iface))
    .map(
      (iface) =>
        `interface ${iface}: fixed address ${running.get(iface) ?? '(none)'} → ${wanted.get(iface) ?? '(none)'}`,
    );
}

/** The subnet and gateway of a network, as its NAD's ipam gives them. */
export interface AddressedNetwork {
  cidr: string;
  gateway: string;
}

/**
 * Why `address` cannot be a fixed address on `network`, or undefined when it can: an IPv4 host address of the subnet
 * (not its network or broadcast address) that is not the gateway (the bridge's own address).
 */
export function fixedAddressProblem(
  address: string,
  network: AddressedNetwork,
): string | undefined {
  const ip = parseIpv4(address);
  if (ip === undefined)
    return `${JSON.stringify(address)} is not an IPv4 address (e.g. 198.18.7.10)`;
  const cidr = parseCidr(network.cidr) as Cidr;
  if (ip === cidr.network) return `${address} is the network address of ${network.cidr}`;
  if (ip === broadcastOf(cidr)) return `${address} is the broadcast address of ${network.cidr}`;
  if (!isHostOf(cidr, ip)) return `${address} is outside the network's subnet ${network.cidr}`;
  if (ip === parseIpv4(network.gateway))
    return `${address} is the network's gateway (the bridge's own address)`;
  return undefined;
}

/** One interface's fixed address, with the NAD it is fixed on. */
export interface FixedAddressRequest {
  interface: string;
  address: string;
  nad: { namespace: string; name: string };
}

/**
 * The fixed addresses a VM template's or VMI's annotations ask for, each on its interface's NAD; causes (naming the
 * annotation) for one that names no interface of the spec, or an interface on the pod network (a fixed address is a
 * bridge network's: the pod network's addresses are the platform's). Addresses themselves are checked by the caller,
 * which knows the networks.
 */
export function fixedAddressRequests(
  annotations: Record<string, string> | undefined,
  spec: VMISpec | undefined,
  namespace: string,
): { requests: FixedAddressRequest[]; causes: StatusCause[] } {
  const asked = fixedAddressesOf(annotations);
  if (asked.size === 0) return { requests: [], causes: [] };
  const plans = new Map(
    (spec ? interfacePlans(spec, namespace) : []).map((p) => [p.iface.name, p]),
  );
  const requests: FixedAddressRequest[] = [];
  const causes: StatusCause[] = [];
  for (const [name, address] of asked) {
    const plan = plans.get(name);
    if (!plan)
      causes.push(
        fieldInvalid(
          staticIpField(name),
          `no interface named ${JSON.stringify(name)} with a network`,
        ),
      );
    else if (!plan.nad)
      causes.push(
        fieldInvalid(
          staticIpField(name),
          `interface ${name} is on the pod network; a fixed address is given on a multus (bridge) network only`,
        ),
      );
    else requests.push({ interface: name, address, nad: plan.nad });
  }
  const seen = new Map<string, string>();
  for (const r of requests) {
    const key = `${r.nad.namespace}/${r.nad.name} ${r.address}`;
    const first = seen.get(key);
    if (first !== undefined)
      causes.push(
        fieldInvalid(
          staticIpField(r.interface),
          `${r.address} is already the fixed address of interface ${first} on the same network`,
        ),
      );
    else seen.set(key, r.interface);
  }
  return { requests, causes };
}

/**
 * The name of the record that holds an address on a NAD: one per network and address, so the store's unique key is the
 * uniqueness guarantee (as a MacAllocation's name is a MAC's). Dots separate namespace, NAD and the address' octets.
 */
export function fixedAddressClaimName(
  nad: { namespace: string; name: string },
  address: string,
): string {
  const ip = parseIpv4(address);
  return `${nad.namespace}.${nad.name}.${ip === undefined ? address : formatIpv4(ip)}`;
}
