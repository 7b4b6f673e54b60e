// REST paths of Harrow's API (DESIGN §4), built from the kinds table: group/version/plural, namespaces, subresources.
import { kindInfo, type KindInfo } from '../resources/kinds.ts';

export interface Target {
  namespace?: string;
  name?: string;
}

const seg = (s: string): string => encodeURIComponent(s);

/** `/api/v1` for the core group, `/apis/{group}/{version}` otherwise. */
export const groupVersionPath = (info: Pick<KindInfo, 'group' | 'version'>): string =>
  info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;

/**
 * The collection or object path of a kind. A namespaced kind without a namespace gives the cluster-wide collection
 * (list and watch across namespaces); a cluster-scoped kind ignores the namespace.
 */
export function resourcePath(kind: string, target: Target = {}): string {
  const info = kindInfo(kind);
  let path = groupVersionPath(info);
  if (info.namespaced && target.namespace !== undefined && target.namespace !== '') {
    path += `/namespaces/${seg(target.namespace)}`;
  }
  path += `/${info.plural}`;
  if (target.name !== undefined) {
    if (info.namespaced && (target.namespace === undefined || target.namespace === '')) {
      throw new Error(`${kind} ${target.name}: a namespace is required`);
    }
    if (target.name === '') throw new Error(`${kind}: an empty name`);
    path += `/${seg(target.name)}`;
  }
  return path;
}

/** KubeVirt's VM subresources: PUT start, stop, restart. */
export const vmSubresourcePath = (
  namespace: string,
  name: string,
  action: 'start' | 'stop' | 'restart',
): string =>
  `/apis/subresources.kubevirt.io/v1/namespaces/${seg(namespace)}/virtualmachines/${seg(name)}/${action}`;

/** Harrow's drift remedies: PUT restore-mac (restart), adopt-guest-mac (the guest's MAC into the manifest). */
export const vmRemedyPath = (
  namespace: string,
  name: string,
  remedy: 'restore-mac' | 'adopt-guest-mac',
): string =>
  `/apis/subresources.harrow.io/v1/namespaces/${seg(namespace)}/virtualmachines/${seg(name)}/${remedy}`;

/** Harrow's maintenance-window restarts: PUT schedule-restart (plan one into the VM's window), cancel-restart. */
export const vmMaintenancePath = (
  namespace: string,
  name: string,
  action: 'schedule-restart' | 'cancel-restart',
): string =>
  `/apis/subresources.harrow.io/v1/namespaces/${seg(namespace)}/virtualmachines/${seg(name)}/${action}`;

/** KubeVirt's VMI subresource: GET interfacelist (what the guest agent reports). */
export const vmiInterfaceListPath = (namespace: string, name: string): string =>
  `/apis/subresources.kubevirt.io/v1/namespaces/${seg(namespace)}/virtualmachineinstances/${seg(name)}/interfacelist`;

/** Harrow's extension: POST guest-exec. */
export const vmiGuestExecPath = (namespace: string, name: string): string =>
  `/apis/subresources.harrow.io/v1/namespaces/${seg(namespace)}/virtualmachineinstances/${seg(name)}/guest-exec`;

/** KubeVirt's VMI subresource: the serial console (a WebSocket). */
export const vmiConsolePath = (namespace: string, name: string): string =>
  `/apis/subresources.kubevirt.io/v1/namespaces/${seg(namespace)}/virtualmachineinstances/${seg(name)}/console`;

/** Kubernetes' pods/log (Harrow: the launcher pod's guest-console-log container is the serial log). */
export const podLogPath = (namespace: string, name: string): string =>
  `/api/v1/namespaces/${seg(namespace)}/pods/${seg(name)}/log`;

/** A query string from the defined values only (`?a=1&b=x`, or '' when none). */
export function queryString(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}
