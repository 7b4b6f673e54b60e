// The one precedence rule for a NIC's MAC. A MAC travels spec → pod request → pod status → VMI status → guest; each
// question below picks from that chain in that order, and every caller asks one of these functions. Pure.
import { parseMac } from '../mac/mac.ts';

/** What each stage of the chain says the NIC's MAC is (any notation; undefined or '' when the stage has not spoken). */
export interface MacSources {
  /** The VMI's (or VM template's) `interfaces[].macAddress`. */
  spec?: string | undefined;
  /** The launcher pod's Multus request (`k8s.v1.cni.cncf.io/networks` `mac`, or Harrow's pod-network request). */
  podRequest?: string | undefined;
  /** The pod interface's MAC in the pod's network-status: the platform's MAC. */
  podStatus?: string | undefined;
  /** The VMI's `status.interfaces[].mac` (the domain's, as KubeVirt reports it). */
  vmiStatus?: string | undefined;
  /** What the guest's NIC uses (QMP rx-filter, guest agent). */
  guest?: string | undefined;
}

export type MacStage = keyof MacSources;

/** Canonical form when `text` is a MAC in any notation; the text in lower case otherwise; undefined when empty. */
export function canonicalMac(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return parseMac(text);
  } catch {
    return text.toLowerCase();
  }
}

export const sameMac = (a: string | undefined, b: string | undefined): boolean =>
  a !== undefined && b !== undefined && canonicalMac(a) === canonicalMac(b);

const spoken = canonicalMac;

function first(
  s: MacSources,
  stages: readonly MacStage[],
): { mac: string; stage: MacStage } | undefined {
  for (const stage of stages) {
    const mac = spoken(s[stage]);
    if (mac !== undefined) return { mac, stage };
  }
  return undefined;
}

/**
 * The MAC the platform means the NIC to have: the earliest stage that names one (spec, then pod request, then the pod
 * interface). KubeVirt's resolveMacAddress: the spec wins, else the pod interface's. The network plugin creates the pod
 * interface with it; the launcher gives it to the guest's virtio NIC.
 */
export function assignedMac(s: MacSources): string | undefined {
  return first(s, ['spec', 'podRequest', 'podStatus'])?.mac;
}

/**
 * The MAC the platform reports the NIC has, and which stage said so: the pod interface's (network-status, what the seed
 * says the platform shows), else the VMI status's. Undefined before the platform has reported.
 */
export function platformMac(
  s: MacSources,
): { mac: string; stage: 'podStatus' | 'vmiStatus' } | undefined {
  return first(s, ['podStatus', 'vmiStatus']) as
    { mac: string; stage: 'podStatus' | 'vmiStatus' } | undefined;
}

/** The MAC an instance runs with: what the platform reports, else what it was assigned. */
export function instanceMac(s: MacSources): string | undefined {
  return platformMac(s)?.mac ?? assignedMac(s);
}

/** The guest's MAC when it differs from the platform's (drift); undefined while either is unknown or they agree. */
export function driftedGuestMac(s: MacSources): string | undefined {
  const guest = spoken(s.guest);
  const platform = platformMac(s)?.mac;
  return guest !== undefined && platform !== undefined && guest !== platform ? guest : undefined;
}
