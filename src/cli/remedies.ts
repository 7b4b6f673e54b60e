// The drift remedies a VMI's status offers, as `harrow` commands: rendered from the declared records, never from a message.
import { remediesFor } from '../network/drift.ts';
import type { InterfaceView } from '../network/interface-view.ts';
import type { GuestMacRemedy } from '../resources/types.ts';

export const nsFlag = (ns: string): string => (ns === 'default' ? '' : ` -n ${ns}`);

/** The remedies of a drifted interface: the observer's record's, else both (KubeVirt's status shape carries none). */
export const remediesOf = (v: InterfaceView): GuestMacRemedy[] =>
  v.guestMacMismatch?.remedies ??
  (v.platformMac && v.guestMac ? remediesFor(v.platformMac, v.guestMac, undefined) : []);

/** The `harrow` command for a remedy the status offers. */
export function remedyCommand(
  r: GuestMacRemedy,
  vm: string,
  iface: string,
  namespace: string,
): string | undefined {
  if (!r.available) return undefined;
  return r.action === 'restore-mac'
    ? `harrow drift restore ${vm}${nsFlag(namespace)}`
    : `harrow drift adopt ${vm} ${iface} --restart${nsFlag(namespace)}`;
}
