// The connectivity check after a restart that changed a MAC: the guest holds a DHCP lease for the new MAC and reaches its
// network's gateway. Outcome: a VM (and VMI) condition, an Event and an AuditRecord.
import { parseIpv4 } from '../ip/ipv4.ts';
import { refOf, setCondition } from '../resources/meta.ts';
import {
  LABEL_CREATED_BY,
  type ConnectivityCheckStatus,
  type ConnectivityFailureCause,
  type ConnectivityResult,
  type ConnectivityStep,
  type VMIInterfaceStatus,
  type VirtualMachine,
  type VirtualMachineInstance,
} from '../resources/types.ts';
import type { Lease } from '../runtime/types.ts';
import { recordAudit } from './audit.ts';
import { INDEX_CREATED_BY, type ControllerContext } from './context.ts';
import { eventRecorder } from './events.ts';
import { objectKey, type Controller, type Result } from './framework.ts';
import { interfacePlans } from '../network/interface-plans.ts';
import { canonicalMac, instanceMac } from '../network/mac-precedence.ts';
import { fixedAddressesOf } from '../network/fixed-address.ts';
import { networkDataMatches, type NetworkDataMatch } from '../network/network-config.ts';
import { guestBootTimeoutMs, planGuestDisks, storeClaimResolver } from './guest-disks.ts';
import { networkStatusOf, podInterfaceMac } from '../network/multus.ts';
import { resolveNetwork } from './nad-resolver.ts';
import { updateWithRetry } from './optimistic-update.ts';
import { GUEST_BOOT_PROBE, guestBootStateOf } from './guest-boot.ts';
import { ANNOTATION_PREVIOUS_MACS } from './vm.ts';
import { counter } from '../metrics/families.ts';

export const CONDITION_CONNECTIVITY = 'ConnectivityCheck';

export interface ConnectivityOptions {
  /**
   * How long after the VMI runs the check waits for the guest to boot (its agent) when the guest boots the runtime's
   * busybox initramfs (default 120 s; it answers in seconds); a guest booting an image waits as long as that image
   * needs (guestBootTimeoutMs: a Debian guest under TCG on a loaded host takes minutes).
   */
  bootTimeoutMs?: number;
  /** How long after the guest's agent connects the check waits for the lease and the gateway (default 60 s). */
  timeoutMs?: number;
  /** Delay between attempts while waiting (default 2 s). */
  retryMs?: number;
  /** How often a guest whose boot still runs is asked again whether it finished (default 10 s). */
  bootProbeMs?: number;
}

export interface MacChange {
  interface: string;
  old: string;
  new: string;
}

function previousMacsOf(vmi: VirtualMachineInstance): Record<string, string> | undefined {
  const raw = vmi.metadata.annotations?.[ANNOTATION_PREVIOUS_MACS];
  if (!raw) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null
      ? (parsed as Record<string, string>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The interfaces whose platform MAC differs from the previous instance's. */
export function changedMacs(
  vmi: VirtualMachineInstance,
  podMacs: (podIfName: string) => string | undefined,
): MacChange[] {
  const previous = previousMacsOf(vmi);
  if (!previous) return [];
  return interfacePlans(vmi.spec, vmi.metadata.namespace ?? 'default').flatMap((p) => {
    const old = previous[p.iface.name]?.toLowerCase();
    const now = instanceMac({ spec: p.iface.macAddress, podStatus: podMacs(p.podInterfaceName) });
    return old && now && old !== now ? [{ interface: p.iface.name, old, new: now }] : [];
  });
}

/** When the VMI's condition `type` last became True (undefined while it is not True). */
function trueSince(vmi: VirtualMachineInstance, type: string): number | undefined {
  const c = vmi.status?.conditions?.find((x) => x.type === type && x.status === 'True');
  return c ? Date.parse(c.lastTransitionTime ?? '') || 0 : undefined;
}

function runningSince(vmi: VirtualMachineInstance): number {
  return trueSince(vmi, 'Ready') ?? (Date.parse(vmi.metadata.creationTimestamp ?? '') || 0);
}

/**
 * Until when the check waits. The guest's boot is not the network's fault: while its agent has not connected — or it
 * has, but the guest says its boot still runs (`bootFinished` 'booting') — the check waits up to `bootMs` after the VMI
 * runs; once the agent is there and the boot finished (at `bootFinished`, host time; unknown: when the agent came),
 * `networkMs` more for the lease and the gateway.
 */
export function checkDeadline(
  vmi: VirtualMachineInstance,
  bootMs: number,
  networkMs: number,
  bootFinished?: number | 'booting',
): number {
  const running = runningSince(vmi);
  const agent = trueSince(vmi, 'AgentConnected');
  if (agent === undefined || bootFinished === 'booting') return running + bootMs;
  return Math.max(running, agent, bootFinished ?? 0) + networkMs;
}

/**
 * The likely cause of a failed check, most specific first: no agent to ask; the guest's NIC on a MAC of its own; the
 * VM's network-config still matching the old MAC; no DHCP request from the guest at all. Undefined when none fits
 * (a gateway that does not answer a configured guest).
 */
export function likelyCause(input: {
  change: MacChange;
  /** The VMI's status entry for the interface. */
  status: VMIInterfaceStatus | undefined;
  agentConnected: boolean;
  waitedSeconds: number;
  /** The MAC matches in the VMI's cloud-init network-config. */
  matches: readonly NetworkDataMatch[];
  failed: readonly ConnectivityStep[];
  /** The network's DHCP range is all leased to other MACs. */
  rangeFull: boolean;
  /** The interface's fixed address, and the address leased to the new MAC. */
  fixedAddress?: string;
  leasedAddress?: string;
}): ConnectivityFailureCause | undefined {
  const { change, status } = input;
  if (!input.agentConnected)
    return { reason: 'AgentNotConnected', waitedSeconds: input.waitedSeconds };
  const guestMac = canonicalMac(status?.guestMacMismatch?.guestMac ?? status?.guestMac);
  if (guestMac !== undefined && guestMac !== change.new)
    return {
      reason: 'GuestSetsMAC',
      guestMac,
      ...(status?.guestMacMismatch?.setBy ? { setBy: status.guestMacMismatch.setBy } : {}),
    };
  const stale = input.matches.find((m) => m.mac === change.old);
  if (stale)
    return {
      reason: 'NetworkConfigMatchesOldMAC',
      macAddress: stale.mac,
      field: stale.field,
      line: stale.line,
      text: stale.text,
    };
  if (
    input.fixedAddress !== undefined &&
    input.leasedAddress !== undefined &&
    input.leasedAddress !== input.fixedAddress
  )
    return {
      reason: 'FixedAddressNotGiven',
      fixedAddress: input.fixedAddress,
      ...(input.leasedAddress ? { leasedAddress: input.leasedAddress } : {}),
    };
  if (input.failed.includes('lease') && input.rangeFull) return { reason: 'NoAddressLeft' };
  if (input.failed.includes('lease'))
    return {
      reason: 'NoDHCPClient',
      ...(status?.interfaceName ? { interfaceName: status.interfaceName } : {}),
    };
  return undefined;
}

/** Whether every address of `range` is leased to a MAC other than `mac`. */
function rangeFull(range: { start: string; end: string }, leases: Lease[], mac: string): boolean {
  const start = parseIpv4(range.start);
  const end = parseIpv4(range.end);
  if (start === undefined || end === undefined || end < start) return false;
  const taken = new Set(
    leases
      .filter((l) => l.mac.toLowerCase() !== mac)
      .map((l) => parseIpv4(l.ip))
      .filter((ip): ip is number => ip !== undefined && ip >= start && ip <= end),
  );
  return taken.size >= end - start + 1;
}

/** A cause in people's words (the condition's message, the event, the audit record). */
export function causeText(cause: ConnectivityFailureCause): string {
  switch (cause.reason) {
    case 'AgentNotConnected':
      return `the guest agent did not answer within ${cause.waitedSeconds} s, the boot time allowed for this guest's image`;
    case 'GuestSetsMAC':
      return `the guest uses ${cause.guestMac}, not the platform's MAC: its OS sets that MAC${cause.setBy ? ` (${cause.setBy.path} line ${cause.setBy.line}: ${cause.setBy.text})` : ''}, and the spoof check drops its frames`;
    case 'NetworkConfigMatchesOldMAC':
      return `the cloud-init network-config still matches the old MAC ${cause.macAddress} (${cause.field} line ${cause.line}: ${cause.text}), so the guest configured nothing on this NIC; change that line to the new MAC`;
    case 'NoAddressLeft':
      return `every address of the network's DHCP range is leased to another MAC`;
    case 'FixedAddressNotGiven':
      return `the interface's fixed address ${cause.fixedAddress} did not follow the new MAC: the DHCP server ${cause.leasedAddress ? `gave ${cause.leasedAddress} instead` : 'gave the guest no address'}`;
    case 'NoDHCPClient':
      return `the guest asked for no address${cause.interfaceName ? ` on ${cause.interfaceName}` : ''}: no DHCP client runs on that NIC`;
  }
}

export function connectivityController(
  ctx: ControllerContext,
  options: ConnectivityOptions = {},
): Controller {
  const { store, runtime, informers } = ctx;
  const bootTimeoutMs = options.bootTimeoutMs ?? 120_000;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const retryMs = options.retryMs ?? 2_000;
  const bootProbeMs = options.bootProbeMs ?? 10_000;
  const log = ctx.logger.child({ controller: 'connectivity' });
  const event = eventRecorder(store, log, { component: 'harrow-connectivity', host: ctx.nodeName });
  const checks = counter(ctx.metrics, {
    name: 'harrow_connectivity_checks_total',
    help: 'Connectivity checks after a MAC change (one per changed interface), by outcome: passed or failed.',
    labelNames: ['outcome'],
  });
  // What each checked guest said of its boot, by VMI uid: when it finished (host ms), or still booting / cannot tell
  // as of probedAt. A cache: asking the guest again rebuilds it.
  const bootFinished = new Map<
    string,
    { state: number | 'booting' | undefined; probedAt: number }
  >();
  const c = ctx.manager.controller({
    name: 'connectivity',
    reconcile,
    concurrency: ctx.concurrency,
  });
  informers.vmis.onEvent((e) => {
    if (e.type !== 'DELETED' && e.object.metadata.annotations?.[ANNOTATION_PREVIOUS_MACS])
      c.enqueue(objectKey(e.object));
  });
  return c;

  /** When the guest's boot finished (host ms), 'booting', or undefined when it cannot tell; asked every bootProbeMs. */
  async function bootFinishedAt(uid: string): Promise<number | 'booting' | undefined> {
    const known = bootFinished.get(uid);
    if (known && (typeof known.state === 'number' || ctx.now() - known.probedAt < bootProbeMs))
      return known.state;
    let state: number | 'booting' | undefined;
    try {
      const r = await runtime.exec(uid, [...GUEST_BOOT_PROBE], { timeoutMs: 10_000 });
      const boot = guestBootStateOf(r.stdout);
      state = boot?.booting
        ? 'booting'
        : boot
          ? ctx.now() - boot.finishedSecondsAgo * 1000
          : undefined;
    } catch (e) {
      // A guest busy booting may not run a command in time: ask again later, within the boot window.
      log.debug({ err: e instanceof Error ? e.message : String(e), vmi: uid }, 'boot probe failed');
      state = 'booting';
    }
    if (bootFinished.size > 4096) bootFinished.clear();
    bootFinished.set(uid, { state, probedAt: ctx.now() });
    return state;
  }

  async function reconcile(key: string): Promise<Result> {
    const vmi = informers.vmis.get(key);
    if (!vmi?.metadata.uid || vmi.status?.phase !== 'Running') return {};
    if (vmi.status.conditions?.some((x) => x.type === CONDITION_CONNECTIVITY)) return {}; // this instance was checked
    const uid = vmi.metadata.uid;
    const pod = informers.pods
      .byIndex(INDEX_CREATED_BY, uid)
      .find((p) => p.metadata.labels?.[LABEL_CREATED_BY] === uid);
    const netStatus = networkStatusOf(pod);
    const changes = changedMacs(vmi, (podIfName) => podInterfaceMac(netStatus, podIfName));
    if (changes.length === 0) return {};
    const namespace = vmi.metadata.namespace ?? 'default';
    const disks = await planGuestDisks(vmi, ctx.images, storeClaimResolver(store, ctx.nodeName));
    const bootMs = guestBootTimeoutMs(disks.ok ? disks.boot : undefined, bootTimeoutMs);
    const agentConnected = trueSince(vmi, 'AgentConnected') !== undefined;
    const finished = bootFinished.get(uid)?.state;
    let late =
      ctx.now() >=
      checkDeadline(vmi, bootMs, timeoutMs, typeof finished === 'number' ? finished : undefined);
    // Before the network window closes on a guest whose agent came early, ask whether its boot (DHCP among it) is done
    // (again every bootProbeMs while it says it boots).
    if (late && agentConnected)
      late = ctx.now() >= checkDeadline(vmi, bootMs, timeoutMs, await bootFinishedAt(uid));
    const matches = networkDataMatches(vmi.spec.volumes);
    const plans = new Map(interfacePlans(vmi.spec, namespace).map((p) => [p.iface.name, p]));
    const fixedAddresses = fixedAddressesOf(vmi.metadata.annotations);
    const results: Array<ConnectivityResult & { previousMacAddress: string; network: string }> = [];
    for (const change of changes) {
      const plan = plans.get(change.interface);
      if (!plan) continue;
      const network = await resolveNetwork(store, plan.network, namespace);
      const leases: Lease[] = await runtime.leases(network.id);
      const lease = leases.find((l) => l.mac.toLowerCase() === change.new);
      const agentIps =
        (vmi.status.interfaces ?? []).find(
          (s) => s.name === change.interface && String(s.infoSource ?? '').includes('guest-agent'),
        )?.ipAddresses ?? [];
      // With a fixed address, the guest must have it back: the lease and the agent's addresses show it.
      const fixedAddress = plan.nad ? fixedAddresses.get(change.interface) : undefined;
      const addressOk =
        agentIps.length > 0 &&
        (fixedAddress === undefined ||
          (lease?.ip === fixedAddress && agentIps.some((ip) => ip.split('/')[0] === fixedAddress)));
      if ((!lease || !addressOk) && !late) return { requeueAfter: retryMs };
      let reachable = false;
      let pingOutput = '';
      if (lease && addressOk) {
        try {
          const r = await runtime.exec(uid, ['ping', '-c', '1', '-W', '2', network.gateway], {
            timeoutMs: 5_000,
          });
          reachable = r.exitCode === 0;
          pingOutput = (r.stdout + r.stderr).trim().split('\n').slice(-1)[0] ?? '';
        } catch (e) {
          pingOutput = e instanceof Error ? e.message : String(e);
        }
        if (!reachable && !late) return { requeueAfter: retryMs };
      }
      const failed: ConnectivityStep[] = [];
      if (!lease) failed.push('lease');
      if (!addressOk) failed.push('address');
      if (lease && addressOk && !reachable) failed.push('gateway');
      const ok = failed.length === 0;
      const cause = ok
        ? undefined
        : likelyCause({
            change,
            status: (vmi.status.interfaces ?? []).find((s) => s.name === change.interface),
            agentConnected,
            waitedSeconds: Math.round(bootMs / 1000),
            matches,
            failed,
            rangeFull: rangeFull(network.dhcpRange, leases, change.new),
            ...(fixedAddress !== undefined ? { fixedAddress } : {}),
            ...(lease ? { leasedAddress: lease.ip } : {}),
          });
      const problems = failed.map((step) =>
        step === 'lease'
          ? `no DHCP lease for ${change.new} on ${network.name}`
          : step === 'address' && fixedAddress !== undefined && agentIps.length > 0
            ? `the guest holds ${lease?.ip ?? agentIps.join(', ')}, not its fixed address ${fixedAddress}`
            : step === 'address'
              ? agentConnected
                ? `the guest agent reports no IP on interface ${change.interface}`
                : `the guest agent did not connect within ${Math.round(bootMs / 1000)} s of the VMI running (the guest did not boot, or has no agent)`
              : `gateway ${network.gateway} unreachable from the guest${pingOutput ? ` (${pingOutput})` : ''}`,
      );
      results.push({
        ok,
        interface: change.interface,
        previousMacAddress: change.old,
        network: network.name,
        macAddress: change.new,
        lease: lease ? { ip: lease.ip, macAddress: lease.mac.toLowerCase() } : null,
        gateway: { ip: network.gateway, reachable },
        ...(fixedAddress !== undefined ? { fixedAddress } : {}),
        ...(ok ? {} : { failed }),
        ...(cause ? { cause } : {}),
        message: ok
          ? `interface ${change.interface}: ${change.old} → ${change.new}; lease ${lease?.ip ?? ''} for the new MAC${fixedAddress !== undefined ? ' (its fixed address)' : ''}, gateway ${network.gateway} reachable`
          : `interface ${change.interface}: ${change.old} → ${change.new}; ${problems.join('; ')}${cause ? `; likely cause: ${causeText(cause)}` : ''}`,
      });
    }
    if (results.length === 0) return {};
    bootFinished.delete(uid);
    const ok = results.every((r) => r.ok);
    const message = results.map((r) => r.message).join(' | ');
    const vmName =
      vmi.metadata.ownerReferences?.find((o) => o.kind === 'VirtualMachine')?.name ??
      vmi.metadata.name;
    for (const r of results) {
      checks.inc({ outcome: r.ok ? 'passed' : 'failed' });
      const change = changes.find((x) => x.interface === r.interface) as MacChange;
      await recordAudit(store, log, {
        user: ctx.auditUser,
        verb: 'connectivity-check',
        resource: { kind: 'VirtualMachine', namespace, name: vmName },
        changes: [
          { field: `interfaces[${r.interface}].macAddress`, old: change.old, new: change.new },
        ],
        outcome: { code: r.ok ? 200 : 503, message: r.message },
        connectivity: r,
      });
    }
    const nowIso = new Date(ctx.now()).toISOString();
    const condition = {
      type: CONDITION_CONNECTIVITY,
      status: ok ? 'True' : 'False',
      reason: ok ? 'Passed' : 'Failed',
      message,
    } as const;
    await updateWithRetry<VirtualMachineInstance>(
      store,
      refOf(vmi),
      (o) => setCondition(((o.status ??= {}).conditions ??= []), condition, nowIso),
      {
        expectUid: uid,
      },
    );
    // The results as data beside the condition: clients render them and never read the message.
    const record: ConnectivityCheckStatus = { checkedAt: nowIso, passed: ok, results };
    const vm = await updateWithRetry<VirtualMachine>(
      store,
      { kind: 'VirtualMachine', namespace, name: vmName },
      (o) => {
        setCondition(((o.status ??= {}).conditions ??= []), condition, nowIso);
        o.status.connectivityCheck = record;
        return true;
      },
    );
    if (vm) {
      await event(
        vm,
        ok ? 'Normal' : 'Warning',
        ok ? 'ConnectivityCheckPassed' : 'ConnectivityCheckFailed',
        message,
      );
    }
    log[ok ? 'info' : 'warn'](
      { namespace, vm: vmName, results },
      'connectivity check after a MAC change',
    );
    return {};
  }
}
