// What the VM page says about drift, a pending restart and the connectivity check, in people's words, rendered from
// structured fields (the interface views, the VM's connectivityCheck record, the template beside the running instance);
// a condition's message — KubeVirt's internal sentence, or one naming CLI commands — is never put on screen.
import type { Condition } from '../../../src/resources/meta.ts';
import type {
  ConnectivityCheckStatus,
  ConnectivityFailureCause,
  VMISpec,
  VirtualMachine,
  VirtualMachineInstance,
} from '../../../src/resources/types.ts';
import type { NicView } from './nics.ts';

/** What the drift on one NIC breaks, and whether a restart brings the platform MAC back (it does not when the guest's OS sets it). */
export function driftConsequences(nic: NicView): { lines: string[]; restartRestores: boolean } {
  const guest = nic.guestMac ?? 'another address';
  const platform = nic.platformMac ?? 'the assigned address';
  const fromOs = nic.mismatch?.cause === 'GuestOSConfiguration';
  const lines = [
    `The network accepts frames only from ${platform} (spoof check), so traffic the guest sends from ${guest} is dropped.`,
    `The guest's DHCP lease is bound to ${platform}, so it loses its address when it renews.`,
    fromOs
      ? `The guest's own configuration sets ${guest} at every boot, so a restart does not bring ${platform} back.`
      : `On the next restart the guest gets ${platform} back: the change made inside the guest does not survive.`,
  ];
  const setBy = nic.mismatch?.setBy;
  if (fromOs && setBy) lines.push(`It is set in ${setBy.path}, line ${setBy.line}.`);
  return { lines, restartRestores: !fromOs };
}

const cores = (spec: VMISpec | undefined): number =>
  (spec?.domain?.cpu?.cores ?? 1) *
  (spec?.domain?.cpu?.sockets ?? 1) *
  (spec?.domain?.cpu?.threads ?? 1);
const memory = (spec: VMISpec | undefined): string | undefined => {
  const quantity = spec?.domain?.memory?.guest ?? spec?.domain?.resources?.requests?.['memory'];
  return quantity === undefined ? undefined : String(quantity);
};

/**
 * What changes when the VM restarts: the template against the running instance (MACs from the interface views). A
 * change this cannot name is still announced, in general words.
 */
export function restartChanges(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  nics: NicView[],
): string[] {
  const lines: string[] = [];
  for (const n of nics) {
    if (n.pendingRestart && n.specMac)
      lines.push(
        n.platformMac
          ? `NIC ${n.name} gets MAC ${n.specMac} (it has ${n.platformMac} now).`
          : `NIC ${n.name} gets MAC ${n.specMac}.`,
      );
  }
  if (vmi) {
    const running = new Set((vmi.spec.domain?.devices?.interfaces ?? []).map((i) => i.name));
    const wanted = new Set(
      (vm.spec.template.spec.domain?.devices?.interfaces ?? []).map((i) => i.name),
    );
    for (const name of wanted)
      if (running.size > 0 && !running.has(name)) lines.push(`NIC ${name} is added.`);
    for (const name of running)
      if (wanted.size > 0 && !wanted.has(name)) lines.push(`NIC ${name} is removed.`);
    const [tc, rc] = [cores(vm.spec.template.spec), cores(vmi.spec)];
    if (tc !== rc) lines.push(`It gets ${tc} vCPU (it has ${rc} now).`);
    const [tm, rm] = [memory(vm.spec.template.spec), memory(vmi.spec)];
    if (tm !== undefined && rm !== undefined && tm !== rm)
      lines.push(`It gets ${tm} of memory (it has ${rm} now).`);
  }
  return lines.length > 0
    ? lines
    : ['A change to its configuration takes effect only when the VM restarts.'];
}

export interface ConnectivityView {
  /** true passed, false failed, undefined still running. */
  passed: boolean | undefined;
  title: string;
  lines: string[];
  /** When it ended (RFC 3339): what a dismissal remembers, so the next check shows again. */
  at: string | undefined;
}

function resultLines(check: ConnectivityCheckStatus): string[] {
  return check.results.map((r) => {
    const change = `NIC ${r.interface} changed from ${r.previousMacAddress} to ${r.macAddress}`;
    if (r.ok)
      return `${change}: the guest has the address ${r.lease?.ip ?? '?'} for its new MAC on ${r.network}, and its gateway ${r.gateway?.ip ?? ''} answers.`;
    const problems: string[] = [];
    if (!r.lease) problems.push(`${r.network} gave no DHCP lease to ${r.macAddress}`);
    else if (r.gateway && !r.gateway.reachable)
      problems.push(`the gateway ${r.gateway.ip} did not answer the guest`);
    if (problems.length === 0) problems.push('the guest agent reported no address on it');
    const cause = r.cause ? ` ${causeSentence(r.cause, r.previousMacAddress)}` : '';
    return `${change}, but ${problems.join(' and ')}.${cause}`;
  });
}

/** The check's likely cause (its `cause` record), in people's words. */
function causeSentence(cause: ConnectivityFailureCause, oldMac: string): string {
  switch (cause.reason) {
    case 'AgentNotConnected':
      return `The guest agent did not answer within ${cause.waitedSeconds} s, the time allowed for this guest's image to boot.`;
    case 'GuestSetsMAC':
      return `Likely cause: the guest uses ${cause.guestMac}, set by its own OS${cause.setBy ? ` in ${cause.setBy.path} line ${cause.setBy.line}` : ''}, and the network drops its frames.`;
    case 'NetworkConfigMatchesOldMAC':
      return `Likely cause: the VM's cloud-init network data still matches the old MAC ${cause.macAddress || oldMac} on line ${cause.line}, so the guest configured nothing on this NIC. Change that line to the new MAC.`;
    case 'NoAddressLeft':
      return 'Likely cause: every address the network hands out is leased to another MAC.';
    case 'FixedAddressNotGiven':
      return `Likely cause: the interface's fixed address ${cause.fixedAddress} did not follow the new MAC${cause.leasedAddress ? `; the guest got ${cause.leasedAddress} instead` : ''}.`;
    case 'NoDHCPClient':
      return `Likely cause: the guest asked for no address${cause.interfaceName ? ` on ${cause.interfaceName}` : ''}; no DHCP client runs on that NIC.`;
  }
}

/** The last connectivity check, from the VM's record; with only the condition (an older server), a general sentence. */
export function connectivityView(
  vm: VirtualMachine,
  condition: Condition | undefined,
): ConnectivityView | undefined {
  if (!condition) return undefined;
  const at = condition.lastTransitionTime;
  if (condition.status === 'Unknown')
    return {
      passed: undefined,
      title: 'Connectivity check running',
      lines: [
        'Harrow is checking that the guest got an address for its new MAC and reaches its gateway.',
      ],
      at,
    };
  const passed = condition.status === 'True';
  const check = vm.status?.connectivityCheck;
  return {
    passed,
    title: passed ? 'Connectivity check passed' : 'Connectivity check failed',
    lines:
      check && check.passed === passed
        ? resultLines(check)
        : [
            passed
              ? 'After the MAC change the guest got an address and reaches its gateway.'
              : 'After the MAC change the guest did not get an address or does not reach its gateway.',
          ],
    at,
  };
}

/** A condition's text for the conditions table: ours in words; others' messages as the server wrote them. */
export function conditionText(
  c: Condition,
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  nics: NicView[],
): string {
  const type = c.type.replace(/^VMI /, '');
  if (type === 'RestartRequired' && c.status === 'True')
    return `Restart needed: ${restartChanges(vm, vmi, nics).join(' ')}`;
  if (type === 'GuestMACMismatch' && c.status === 'True') {
    const drifted = nics.filter((n) => n.drift);
    return drifted.length > 0
      ? drifted
          .map(
            (n) =>
              `NIC ${n.name}: the guest uses ${n.guestMac ?? '?'}, the platform gave it ${n.platformMac ?? '?'}.`,
          )
          .join(' ') + ' See Networks.'
      : 'The guest uses a MAC the platform did not assign. See Networks.';
  }
  if (type === 'ConnectivityCheck') return connectivityView(vm, c)?.lines.join(' ') ?? '';
  return c.message ?? '';
}
