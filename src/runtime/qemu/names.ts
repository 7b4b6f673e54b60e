// Names of the host objects Harrow creates, derived from ids only (never user text), short enough for the kernel.
import { createHash } from 'node:crypto';

/** Linux interface names are at most 15 bytes (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

const INSTANCE_ID = /^[a-z0-9][a-z0-9-]{0,23}$/;
const OBJECT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SHORT_NETWORK_ID = /^[a-z0-9][a-z0-9-]{0,11}$/;
const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** Throws naming `field` when `value` cannot name host objects safely. */
export function checkInstanceId(value: string): string {
  if (!INSTANCE_ID.test(value)) {
    throw new Error(
      `instanceId ${JSON.stringify(value)}: must be 1-24 characters of a-z, 0-9 and '-', starting with a letter or digit`,
    );
  }
  return value;
}

export function checkObjectId(field: string, value: string): string {
  if (!OBJECT_ID.test(value)) {
    throw new Error(
      `${field} ${JSON.stringify(value)}: must be 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-'`,
    );
  }
  return value;
}

export function checkInterfaceName(field: string, value: string): string {
  if (!IFNAME.test(value)) {
    throw new Error(
      `${field} ${JSON.stringify(value)}: an interface name is 1-15 characters of A-Z, a-z, 0-9, '_', '.', '-'`,
    );
  }
  return value;
}

/** Harrow's own "host" namespace for one runtime instance: the networks' bridges and their dnsmasq live here. */
export const hostNamespace = (instanceId: string): string => `harrow-${instanceId}`;

/** The instance whose host namespace `namespace` is, undefined for any other name. */
export function instanceIdOfHostNamespace(namespace: string): string | undefined {
  const id = namespace.startsWith('harrow-') ? namespace.slice('harrow-'.length) : undefined;
  return id !== undefined && INSTANCE_ID.test(id) ? id : undefined;
}

/** `hb-<networkId>` when the id fits, else `hb-<hash of id>`; the full id is kept in the link's alias. */
export function bridgeName(networkId: string): string {
  return SHORT_NETWORK_ID.test(networkId) ? `hb-${networkId}` : `hb-${shortHash(networkId, 12)}`;
}

/** The pod's network namespace. The instance id is part of it so that parallel runtimes never see each other's pods. */
export const podNamespace = (instanceId: string, podUid: string): string =>
  `hp-${instanceId}.${podUid}`;

/** The pod uid of one of this instance's pod namespaces, undefined for any other name. */
export function podUidOfNamespace(instanceId: string, namespace: string): string | undefined {
  const prefix = `hp-${instanceId}.`;
  if (!namespace.startsWith(prefix)) return undefined;
  const uid = namespace.slice(prefix.length);
  return OBJECT_ID.test(uid) ? uid : undefined;
}

/** The instance of a pod namespace (`hp-<instanceId>.<podUid>`): an instance id has no '.', so the first one ends it. */
export function instanceIdOfPodNamespace(namespace: string): string | undefined {
  if (!namespace.startsWith('hp-')) return undefined;
  const dot = namespace.indexOf('.');
  const id = dot > 0 ? namespace.slice('hp-'.length, dot) : '';
  return INSTANCE_ID.test(id) && podUidOfNamespace(id, namespace) ? id : undefined;
}

/** Host end of a pod interface's veth pair (in the host namespace, a port of the network's bridge). */
export const hostVethName = (podUid: string, podInterfaceName: string): string =>
  `hv${shortHash(`${podUid}/${podInterfaceName}`, IFNAME_MAX - 2)}`;

/** KubeVirt's in-pod bridge for the bridge binding: `k6t-<podInterfaceName>`, cut to fit. */
export const podBridgeName = (podInterfaceName: string): string =>
  `k6t-${podInterfaceName}`.slice(0, IFNAME_MAX);

export const tapName = (index: number): string => `tap${index}`;

/** The guest's per-VMI state directory name; hashed so socket paths stay under the 108-byte sun_path limit. */
export const guestDirName = (vmiUid: string): string => shortHash(vmiUid, 16);

/** The QEMU `-name` of a guest: lets inventory map a process back to its VMI. */
export const qemuGuestName = (instanceId: string, vmiUid: string): string =>
  `harrow.${instanceId}.${vmiUid}`;

export function vmiUidOfQemuName(instanceId: string, name: string): string | undefined {
  const prefix = `harrow.${instanceId}.`;
  if (!name.startsWith(prefix)) return undefined;
  const uid = name.slice(prefix.length);
  return OBJECT_ID.test(uid) ? uid : undefined;
}

/** The instance of a QEMU `-name` (`harrow.<instanceId>.<vmiUid>`), undefined for a guest Harrow did not start. */
export function instanceIdOfQemuName(name: string): string | undefined {
  const match = /^harrow\.([^.]+)\./.exec(name);
  const id = match?.[1];
  return id !== undefined && INSTANCE_ID.test(id) && vmiUidOfQemuName(id, name) ? id : undefined;
}

/** Link alias (IFLA_IFALIAS) that records which network a bridge serves. */
export const networkAlias = (networkId: string): string => `harrow:network:${networkId}`;
export function networkIdOfAlias(alias: string | undefined): string | undefined {
  if (!alias?.startsWith('harrow:network:')) return undefined;
  return alias.slice('harrow:network:'.length) || undefined;
}

/** Link alias of a pod's host-side veth: `harrow:pod:<podUid>:<podInterfaceName>`. */
export const podPortAlias = (podUid: string, podInterfaceName: string): string =>
  `harrow:pod:${podUid}:${podInterfaceName}`;
export function podPortOfAlias(
  alias: string | undefined,
): { podUid: string; podInterfaceName: string } | undefined {
  const match = alias?.match(/^harrow:pod:([A-Za-z0-9_.-]+):([A-Za-z0-9_.-]+)$/);
  return match ? { podUid: match[1]!, podInterfaceName: match[2]! } : undefined;
}
