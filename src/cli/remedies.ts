// The drift remedies a VMI's status offers, as `harrow` commands: rendered from the declared records, never from a message.
import { namespaceFlag, remediesFor, remedyCommandLine } from '../network/drift.ts';
import type { InterfaceView } from '../network/interface-view.ts';
import type { GuestMacRemedy } from '../resources/types.ts';

export const nsFlag = namespaceFlag;

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
  return remedyCommandLine(r.action, vm, iface, namespace);
}
