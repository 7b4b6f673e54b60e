// Guest MAC drift as declared status: the mismatch record on each drifted interface (platform MAC, guest MAC, since,
// cause, remedies), and the people's message rendered from those records — never the other way round. Pure.
import type {
  GuestMacMismatch,
  GuestMacRemedy,
  GuestMacSetting,
  VMIInterfaceStatus,
} from '../resources/types.ts';
import { driftedGuestMac } from './mac-precedence.ts';

export const CONDITION_GUEST_MAC_MISMATCH = 'GuestMACMismatch';
export const REASON_GUEST_MAC_CHANGED = 'GuestChangedMAC';
export const REASON_GUEST_OS_CONFIGURATION = 'GuestOSConfiguration';

/** Where a guest's OS configuration usually sets or matches a NIC's MAC: what the read-only search looks through. */
export const GUEST_NETWORK_CONFIG_PATHS = [
  '/etc/network/interfaces',
  '/etc/network/interfaces.d',
  '/etc/systemd/network',
  '/etc/netplan',
  '/etc/cloud/cloud.cfg.d',
  '/var/lib/cloud/instance',
  '/etc/sysconfig/network-scripts',
  '/etc/NetworkManager/system-connections',
];

/** `grep -rnisHF -- MAC PATH…`: a read-only search of the guest's network configuration for the lines naming `mac`. */
export const guestConfigSearch = (mac: string): string[] => [
  'grep',
  '-rnisHF',
  '--',
  mac,
  ...GUEST_NETWORK_CONFIG_PATHS,
];

// A line that gives a NIC a MAC, rather than matching on one.
const SETS_MAC = /^\s*(hwaddress\b|macaddress\s*[:=]|cloned-mac-address\s*=|MACADDR\s*=)/i;

/** The line of the search's output (`path:line:text`) that sets the MAC: a setting line first, else the first hit. */
export function guestMacSettingOf(grepOutput: string): GuestMacSetting | undefined {
  const hits = grepOutput.split('\n').flatMap((l) => {
    const m = /^([^:]+):(\d+):(.*)$/.exec(l);
    return m ? [{ path: m[1] ?? '', line: Number(m[2]), text: (m[3] ?? '').trim() }] : [];
  });
  return hits.find((h) => SETS_MAC.test(h.text)) ?? hits[0];
}
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

/**
 * The two remedies, as data: restore (restart now) unless the guest's OS sets its MAC at boot; adopt unless another VM
 * holds the guest's MAC.
 */
export function remediesFor(
  platformMac: string,
  guestMac: string,
  heldBy: MacHolder | undefined,
  setByGuestOs = false,
): GuestMacRemedy[] {
  return [
    {
      action: 'restore-mac',
      macAddress: platformMac,
      available: !setByGuestOs,
      takesEffect: 'now',
    },
    {
      action: 'adopt-guest-mac',
      macAddress: guestMac,
      available: heldBy === undefined,
      takesEffect: 'next-restart',
    },
  ];
}

/** What is known of the guest's OS behind a drift: the MAC the previous instance drifted to, what sets it. */
export interface GuestOsFacts {
  /** The guest MAC the VM's previous instance showed on this interface (it was stopped with that drift). */
  previousGuestMac(iface: string): string | undefined;
  /** The configuration line found to set `guestMac`, when searched. */
  setBy(iface: string, guestMac: string): GuestMacSetting | undefined;
}

const NO_FACTS: GuestOsFacts = { previousGuestMac: () => undefined, setBy: () => undefined };

/**
 * Sets (or clears) `guestMacMismatch` on each spec interface entry. `since` carries over from `previous` while the same
 * guest MAC differs from the same platform MAC; `holderOf` names the VM that holds a guest MAC in the pool, if another.
 * The same guest MAC as the previous instance's means it survived a restart: the guest's OS sets it (GuestOSConfiguration).
 */
export function withMismatchRecords(
  statuses: VMIInterfaceStatus[],
  previous: VMIInterfaceStatus[] | undefined,
  holderOf: (guestMac: string) => MacHolder | undefined,
  nowIso: string,
  facts: GuestOsFacts = NO_FACTS,
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
    const byOs = facts.previousGuestMac(entry.name ?? '') === guestMac;
    const setBy = byOs ? facts.setBy(entry.name ?? '', guestMac) : undefined;
    const record: GuestMacMismatch = {
      platformMac,
      guestMac,
      since,
      cause: byOs ? 'GuestOSConfiguration' : 'GuestChangedMAC',
      ...(setBy ? { setBy } : {}),
      ...(heldBy ? { heldBy } : {}),
      remedies: remediesFor(platformMac, guestMac, heldBy, byOs),
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
      const differs =
        `interface ${name}: the guest uses MAC ${m.guestMac} but the platform assigned ${m.platformMac}` +
        `${podInterfaceName ? ` (pod interface ${podInterfaceName})` : ''}. Frames from ${m.guestMac} are dropped by ` +
        `the network's spoof check: no connectivity, no DHCP. `;
      const adopt = m.remedies.some((r) => r.action === 'adopt-guest-mac' && r.available)
        ? ` To keep ${m.guestMac}, adopt it into the VM's manifest and restart: ` +
          `${remedyCommandLine('adopt-guest-mac', vm, name, namespace)}.`
        : '';
      const where = m.setBy
        ? ` (${m.setBy.path} line ${m.setBy.line}: ${JSON.stringify(m.setBy.text)})`
        : ' (ifupdown hwaddress, a systemd .link MACAddress=, netplan or cloud-init macaddress)';
      let text =
        m.cause === 'GuestOSConfiguration'
          ? differs +
            `The guest's OS configuration sets ${m.guestMac} at boot${where}: the drift survived a restart, and a ` +
            `restart will not restore ${m.platformMac}. To return to ${m.platformMac}, remove that setting from the ` +
            `guest's configuration and restart the VM.${adopt}`
          : differs +
            `The in-guest change reverts when the VM restarts. To restore ${m.platformMac}, restart the VM: ` +
            `${remedyCommandLine('restore-mac', vm, name, namespace)}.${adopt}`;
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

/** The condition's reason: GuestOSConfiguration when any drift is set by the guest's OS, else GuestChangedMAC. */
export const mismatchReason = (statuses: VMIInterfaceStatus[] | undefined): string =>
  mismatchesOf(statuses).some((m) => m.record.cause === 'GuestOSConfiguration')
    ? REASON_GUEST_OS_CONFIGURATION
    : REASON_GUEST_MAC_CHANGED;
