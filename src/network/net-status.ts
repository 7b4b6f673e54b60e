// VMI status.interfaces from what each source says (KubeVirt's NetStat.UpdateStatus): the pure half of the observer.
import type {
  NetworkStatusEntry,
  VirtualMachineInstance,
  VMIInterfaceStatus,
} from '../resources/types.ts';
import { interfacePlans } from './interface-plans.ts';
import { instanceMac } from './mac-precedence.ts';
import { podInterfaceMac } from './multus.ts';

/** What the guest side reports (the runtime's GuestObservation has this shape). */
export interface GuestReport {
  /** Per spec interface, the MAC the guest's NIC uses (QMP rx-filter). */
  nics: Array<{ name: string; guestMac: string }>;
  /** The guest agent's interfaces; undefined while no agent answers. */
  agent?: { interfaces: Array<{ interfaceName: string; mac: string; ipAddresses: string[] }> };
}

/** A DHCP server's lease for a MAC. */
export interface LeaseReport {
  ip: string;
  expires?: string;
}

const lower = (mac: string | undefined): string | undefined => mac?.toLowerCase();
const isLoopback = (i: { interfaceName: string; mac: string }): boolean =>
  i.interfaceName === 'lo' || i.mac === '' || /^0{2}(:0{2}){5}$/.test(i.mac);

/**
 * VMI status.interfaces as KubeVirt's NetStat.UpdateStatus builds them: one entry per spec interface with the platform
 * MAC (the pod interface's) and, when the guest agent reports an interface with that MAC, its name and IPs; every guest
 * interface matching no spec interface gets its own `guest-agent` entry. Harrow adds `guestMac` (QMP rx-filter) and
 * `lease` (the network's DHCP server's lease for the platform MAC, when `leaseFor` knows one).
 */
export function interfaceStatuses(
  vmi: VirtualMachineInstance,
  networkStatus: NetworkStatusEntry[] | undefined,
  observation: GuestReport | undefined,
  leaseFor?: (mac: string) => LeaseReport | undefined,
): VMIInterfaceStatus[] {
  const namespace = vmi.metadata.namespace ?? 'default';
  const agent = (observation?.agent?.interfaces ?? []).filter((i) => !isLoopback(i));
  const matched = new Set<number>();
  const out: VMIInterfaceStatus[] = [];
  for (const plan of interfacePlans(vmi.spec, namespace)) {
    const mac = instanceMac({
      spec: plan.iface.macAddress,
      podStatus: podInterfaceMac(networkStatus, plan.podInterfaceName),
    });
    const entry: VMIInterfaceStatus = {
      name: plan.iface.name,
      ...(mac ? { mac } : {}),
      podInterfaceName: plan.podInterfaceName,
    };
    const guestMac = lower(observation?.nics.find((n) => n.name === plan.iface.name)?.guestMac);
    if (guestMac) entry.guestMac = guestMac;
    const lease = mac ? leaseFor?.(mac) : undefined;
    if (lease)
      entry.lease = {
        ip: lease.ip,
        macAddress: mac as string,
        ...(lease.expires ? { expires: lease.expires } : {}),
      };
    const i = mac ? agent.findIndex((a, idx) => !matched.has(idx) && lower(a.mac) === mac) : -1;
    if (i >= 0) {
      matched.add(i);
      const a = agent[i] as (typeof agent)[number];
      entry.interfaceName = a.interfaceName;
      const primary = primaryIp(a.ipAddresses);
      if (primary !== undefined) entry.ipAddress = primary;
      entry.ipAddresses = [...a.ipAddresses];
      entry.infoSource = 'domain, guest-agent';
    } else entry.infoSource = 'domain';
    entry.queueCount = 1;
    out.push(entry);
  }
  agent.forEach((a, idx) => {
    if (matched.has(idx)) return;
    out.push({
      interfaceName: a.interfaceName,
      mac: lower(a.mac) as string,
      ...(primaryIp(a.ipAddresses) !== undefined ? { ipAddress: primaryIp(a.ipAddresses) } : {}),
      ipAddresses: [...a.ipAddresses],
      infoSource: 'guest-agent',
    });
  });
  return out;
}

/** Link-local addresses (IPv6 fe80::/10, IPv4 169.254/16): a guest has them before its DHCP lease and they reach no one. */
const isLinkLocal = (ip: string): boolean =>
  /^fe[89ab][0-9a-f]:/i.test(ip) || ip.startsWith('169.254.');

/**
 * The address an interface is known by: the guest agent's first that is not link-local (an IPv6 link-local address is
 * up before the lease, and the agent's order is the guest's, not ours), else the first.
 */
export const primaryIp = (ips: readonly string[]): string | undefined =>
  ips.find((ip) => !isLinkLocal(ip)) ?? ips[0];
