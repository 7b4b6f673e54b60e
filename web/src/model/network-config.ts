// The CNI bridge config of a NetworkAttachmentDefinition: built from the create form, read back for the list.
import { isHostOf, parseCidr, parseIpv4 } from '../../../src/ip/ipv4.ts';
import type { NetworkAttachmentDefinition } from '../../../src/resources/types.ts';

export interface BridgeNetwork {
  name: string;
  vlan: number | undefined;
  subnet: string;
  rangeStart: string;
  rangeEnd: string;
  gateway: string;
}

export interface BridgeNetworkView {
  type: string;
  vlan: number | undefined;
  subnet: string | undefined;
  rangeStart: string | undefined;
  rangeEnd: string | undefined;
  gateway: string | undefined;
}

export interface FieldError {
  field: keyof BridgeNetwork;
  message: string;
}

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Field-level problems of the create form; empty when it can be sent. */
export function validateBridgeNetwork(n: BridgeNetwork): FieldError[] {
  const errors: FieldError[] = [];
  if (!DNS1123.test(n.name) || n.name.length > 63) {
    errors.push({
      field: 'name',
      message:
        'Use lower-case letters, digits and "-" (at most 63), starting and ending with a letter or digit.',
    });
  }
  if (n.vlan !== undefined && (!Number.isInteger(n.vlan) || n.vlan < 1 || n.vlan > 4094)) {
    errors.push({ field: 'vlan', message: 'A VLAN ID is a whole number from 1 to 4094.' });
  }
  const subnet = parseCidr(n.subnet.trim());
  if (!subnet || subnet.prefix < 8 || subnet.prefix > 30) {
    errors.push({
      field: 'subnet',
      message:
        'Give an IPv4 subnet in CIDR form with a prefix from /8 to /30 and no host bits set, e.g. 198.18.5.0/24.',
    });
    return errors;
  }
  const inside = (field: 'rangeStart' | 'rangeEnd' | 'gateway'): number | undefined => {
    const v = parseIpv4(n[field].trim());
    if (v === undefined) {
      errors.push({ field, message: 'Not an IPv4 address.' });
      return undefined;
    }
    if (!isHostOf(subnet, v)) {
      errors.push({ field, message: `Must be a host address inside ${n.subnet.trim()}.` });
      return undefined;
    }
    return v;
  };
  const start = inside('rangeStart');
  const end = inside('rangeEnd');
  const gateway = inside('gateway');
  if (start !== undefined && end !== undefined && end < start) {
    errors.push({ field: 'rangeEnd', message: 'The DHCP range ends before it starts.' });
  }
  if (
    gateway !== undefined &&
    start !== undefined &&
    end !== undefined &&
    gateway >= start &&
    gateway <= end
  ) {
    errors.push({ field: 'gateway', message: 'The gateway must lie outside the DHCP range.' });
  }
  return errors;
}

/** The NetworkAttachmentDefinition for a bridge network with an optional VLAN and a DHCP range. */
export function bridgeNad(namespace: string, n: BridgeNetwork): NetworkAttachmentDefinition {
  const config = {
    cniVersion: '0.3.1',
    name: n.name,
    type: 'bridge',
    ...(n.vlan !== undefined ? { vlan: n.vlan } : {}),
    ipam: {
      subnet: n.subnet.trim(),
      rangeStart: n.rangeStart.trim(),
      rangeEnd: n.rangeEnd.trim(),
      gateway: n.gateway.trim(),
    },
  };
  return {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: n.name, namespace },
    spec: { config: JSON.stringify(config) },
  };
}

/** Reads a NAD's CNI config for display; a config that is not JSON shows as "unknown". */
export function bridgeView(nad: NetworkAttachmentDefinition): BridgeNetworkView {
  let cfg: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(nad.spec?.config ?? '{}');
    if (typeof parsed === 'object' && parsed !== null) cfg = parsed as Record<string, unknown>;
  } catch {
    return {
      type: 'unknown',
      vlan: undefined,
      subnet: undefined,
      rangeStart: undefined,
      rangeEnd: undefined,
      gateway: undefined,
    };
  }
  const ipam = (
    typeof cfg['ipam'] === 'object' && cfg['ipam'] !== null ? cfg['ipam'] : {}
  ) as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    type: str(cfg['type']) ?? 'unknown',
    vlan: typeof cfg['vlan'] === 'number' ? cfg['vlan'] : undefined,
    subnet: str(ipam['subnet']),
    rangeStart: str(ipam['rangeStart']),
    rangeEnd: str(ipam['rangeEnd']),
    gateway: str(ipam['gateway']),
  };
}
