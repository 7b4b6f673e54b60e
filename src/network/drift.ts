// Guest MAC drift as declared status: the mismatch record on each drifted interface (platform MAC, guest MAC, since,
// cause, remedies), and the people's message rendered from those records — never the other way round. Pure.
import type { GuestMacMismatch, GuestMacRemedy, VMIInterfaceStatus } from '../resources/types.ts';
import { driftedGuestMac } from './mac-precedence.ts';

export const CONDITION_GUEST_MAC_MISMATCH = 'GuestMACMismatch';
export const REASON_GUEST_MAC_CHANGED = 'GuestChangedMAC';
export const GUEST_MAC_RESTORED_MESSAGE =
  'the guest uses the platform-assigned MAC on every interface again';

export type MacHolder = NonNullable<GuestMacMismatch['heldBy']>;

/** The guest MAC of a spec interface's status entry when it differs from the platform's. */
export const driftedGuestMacOf = (s: VMIInterfaceStatus): string | undefined =>
  s.name === undefined ? undefined : driftedGuestMac({ vmiStatus: s.mac, guest: s.guestMac });

/** `-n NS` as the CLI spells it; nothing for the default namespace. */
export const namespaceFlag = (ns: string): string => (ns === 'default' ? '' : ` -n ${ns}`);

/**
 * The one wording of each remedy as a `harrow` command: the condition's message, its Event, `harrow drift`, `describe`
 * and the README all show these, so a user meets one command wherever the drift is reported.
 */
export function remedyCommandLine(
  action: GuestMacRemedy['action'],
  vm: string,
  iface: string,
  namespace: string,
): string {
  return action === 'restore-mac'
    ? `harrow drift restore ${vm}${namespaceFlag(namespace)}`
    : `harrow drift adopt ${vm} ${iface}${namespaceFlag(namespace)} --restart`;
}

/** The two remedies, as data: restore (restart now) always; adopt unless another VM holds the guest's MAC. */
export function remediesFor(
  platformMac: string,
  guestMac: string,
  heldBy: MacHolder | undefined,
): GuestMacRemedy[] {
  return [
    { action: 'restore-mac', macAddress: platformMac, available: true, takesEffect: 'now' },
    {
      action: 'adopt-guest-mac',
      macAddress: guestMac,
      available: heldBy === undefined,
      takesEffect: 'next-restart',
    },
  ];
}

/**
 * Sets (or clears) `guestMacMismatch` on each spec interface entry. `since` carries over from `previous` while the same
 * guest MAC differs from the same platform MAC; `holderOf` names the VM that holds a guest MAC in the pool, if another.
 */
export function withMismatchRecords(
  statuses: VMIInterfaceStatus[],
  previous: VMIInterfaceStatus[] | undefined,
  holderOf: (guestMac: string) => MacHolder | undefined,
  nowIso: string,
): VMIInterfaceStatus[] {
  return statuses.map((s) => {
    const { guestMacMismatch: _old, ...entry } = s;
    const guestMac = driftedGuestMacOf(entry);
    if (guestMac === undefined || entry.mac === undefined) return entry;
    const platformMac = entry.mac.toLowerCase();
    const before = previous?.find((p) => p.name === entry.name)?.guestMacMismatch;
    const since =
      before && before.guestMac === guestMac && before.platformMac === platformMac
        ? before.since
        : nowIso;
    const heldBy = holderOf(guestMac);
    const record: GuestMacMismatch = {
      platformMac,
      guestMac,
      since,
      cause: 'GuestChangedMAC',
      ...(heldBy ? { heldBy } : {}),
      remedies: remediesFor(platformMac, guestMac, heldBy),
    };
    return { ...entry, guestMacMismatch: record };
  });
}

/** Each drifted spec interface with its record. */
export function mismatchesOf(
  statuses: VMIInterfaceStatus[] | undefined,
): Array<{ interface: string; podInterfaceName?: string; record: GuestMacMismatch }> {
  return (statuses ?? []).flatMap((s) =>
    s.name !== undefined && s.guestMacMismatch
      ? [
          {
            interface: s.name,
            ...(s.podInterfaceName ? { podInterfaceName: s.podInterfaceName } : {}),
            record: s.guestMacMismatch,
          },
        ]
      : [],
  );
}

/**
 * The GuestMACMismatch condition's message, for people: per drifted interface what differs, what it breaks, that it
 * reverts, and the two remedies in words (clients render the remedies from the records, not from this text).
 */
export function mismatchMessage(
  namespace: string,
  vm: string,
  statuses: VMIInterfaceStatus[] | undefined,
): string | undefined {
  const drifted = mismatchesOf(statuses);
  if (drifted.length === 0) return undefined;
  return drifted
    .map(({ interface: name, podInterfaceName, record: m }) => {
      let text =
        `interface ${name}: the guest uses MAC ${m.guestMac} but the platform assigned ${m.platformMac}` +
        `${podInterfaceName ? ` (pod interface ${podInterfaceName})` : ''}. Frames from ${m.guestMac} are dropped by ` +
        `the network's spoof check: no connectivity, no DHCP. The in-guest change reverts when the VM restarts. ` +
        `To restore ${m.platformMac}, restart the VM: ${remedyCommandLine('restore-mac', vm, name, namespace)}.`;
      if (m.remedies.some((r) => r.action === 'adopt-guest-mac' && r.available))
        text +=
          ` To keep ${m.guestMac}, adopt it into the VM's manifest and restart: ` +
          `${remedyCommandLine('adopt-guest-mac', vm, name, namespace)}.`;
      if (m.heldBy?.namespace === 'other') {
        // The condition is readable by whoever may read this namespace; a holder elsewhere is not theirs to learn.
        text +=
          ` Note: ${m.guestMac} is allocated to a VM in another namespace: the two would clash on the network, and ` +
          `adopting it is refused while that VM holds it.`;
      } else if (m.heldBy) {
        text +=
          ` Note: ${m.guestMac} is allocated to VM ${namespace}/${m.heldBy.name} (interface ${m.heldBy.interface}): ` +
          `VM ${namespace}/${vm} and VM ${namespace}/${m.heldBy.name} would clash on the network, and adopting it ` +
          `is refused while ${namespace}/${m.heldBy.name} holds it.`;
      }
      return text;
    })
    .join(' ');
}
