// The observer: what the guest really uses (QMP rx-filter, guest agent) → VMI status.interfaces the KubeVirt way, plus
// Harrow's GuestMACMismatch condition (on the VMI and its VM) with its VMI label, events and the mismatch metric.
import { refOf, removeCondition, setCondition, type Condition } from '../resources/meta.ts';
import {
  ANNOTATION_NETWORK_STATUS,
  LABEL_CREATED_BY,
  LABEL_GUEST_MAC_MISMATCH,
  macAllocationName,
  type GuestMacSetting,
  type MacAllocation,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VMIInterfaceStatus,
} from '../resources/types.ts';
import type { GuestObservation, Lease } from '../runtime/types.ts';
import { INDEX_CREATED_BY, vmKeyOfPod, type ControllerContext } from './context.ts';
import { eventRecorder } from './events.ts';
import { changed, objectKey, refFor, splitKey, type Controller, type Result } from './framework.ts';
import {
  CONDITION_GUEST_MAC_MISMATCH,
  GUEST_MAC_RESTORED_MESSAGE,
  REASON_GUEST_MAC_CHANGED,
  driftedGuestMacOf,
  guestConfigSearch,
  guestMacSettingOf,
  mismatchMessage,
  mismatchReason,
  mismatchesOf,
  withMismatchRecords,
  type GuestOsFacts,
  type MacHolder,
} from '../network/drift.ts';
import { ANNOTATION_PREVIOUS_GUEST_MACS } from './vm.ts';
import { interfacePlans } from '../network/interface-plans.ts';
import { networkStatusOf } from '../network/multus.ts';
import { interfaceStatuses } from '../network/net-status.ts';
import { resolveNetwork } from './nad-resolver.ts';
import { updateWithRetry } from './optimistic-update.ts';
import { gauge } from '../metrics/families.ts';

const DEFAULT_POLL_MS = 10_000;

const hasMismatchLabel = (vmi: VirtualMachineInstance): boolean =>
  vmi.metadata.labels?.[LABEL_GUEST_MAC_MISMATCH] === 'true';

/**
 * Sets or removes the VMI's GuestMACMismatch label; false when it already was so. Written with the condition, and
 * again by the next poll when the VMI lacks it (a VMI written before the label existed, or one whose label was removed).
 */
function labelMismatch(vmi: VirtualMachineInstance, drifting: boolean): boolean {
  if (hasMismatchLabel(vmi) === drifting) return false;
  const labels = (vmi.metadata.labels ??= {});
  if (drifting) labels[LABEL_GUEST_MAC_MISMATCH] = 'true';
  else delete labels[LABEL_GUEST_MAC_MISMATCH];
  return true;
}

/** Whether the VMI already shows this observation (so the poll need not write). */
function upToDate(
  vmi: VirtualMachineInstance,
  statuses: VMIInterfaceStatus[],
  observation: GuestObservation,
  message: string | undefined,
): boolean {
  const status = vmi.status ?? {};
  const conditions = status.conditions ?? [];
  if (hasMismatchLabel(vmi) !== (message !== undefined)) return false;
  if (JSON.stringify(status.interfaces ?? []) !== JSON.stringify(statuses)) return false;
  if (
    observation.agent?.osInfo &&
    JSON.stringify(status.guestOSInfo) !== JSON.stringify(observation.agent.osInfo)
  )
    return false;
  if (conditions.some((x) => x.type === 'AgentConnected') !== (observation.agent !== undefined))
    return false;
  return conditions.find((x) => x.type === CONDITION_GUEST_MAC_MISMATCH)?.message === message;
}

function previousGuestMacsOf(vmi: VirtualMachineInstance): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(
      vmi.metadata.annotations?.[ANNOTATION_PREVIOUS_GUEST_MACS] ?? '{}',
    );
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

const jitter = (ms: number): number => Math.round(ms * (0.75 + Math.random() * 0.5));

export interface ObserverOptions {
  /** Poll interval per running VMI (jittered ±25%); runtime events trigger an immediate reconcile besides. */
  pollMs?: number;
}

export function observerController(
  ctx: ControllerContext,
  options: ObserverOptions = {},
): Controller {
  const { store, runtime, informers } = ctx;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const log = ctx.logger.child({ controller: 'observer' });
  const event = eventRecorder(store, log, { component: 'harrow-observer', host: ctx.nodeName });
  const mismatch = gauge(ctx.metrics, {
    name: 'harrow_guest_mac_mismatch',
    help: '1 when the MAC the guest uses on an interface differs from the platform-assigned one.',
    labelNames: ['namespace', 'vm', 'interface'],
  });
  // What the search of a guest's configuration found, by `vmi uid|interface|guest MAC` (null: searched, nothing found).
  const searched = new Map<string, GuestMacSetting | null>();
  // Series published per VMI key, so a gone VMI's series are removed without scanning them all.
  const published = new Map<string, Set<string>>();
  // The mismatch message last mirrored on each VM (absent: unknown, or none there).
  const mirrored = new Map<string, string | undefined>();
  const c = ctx.manager.controller({ name: 'observer', reconcile, concurrency: ctx.concurrency });
  // The guest side comes through runtime events and polls; from the store only phase, spec and network-status matter.
  informers.vmis.onEvent((e) => {
    if (
      changed(
        e,
        (o) =>
          `${o.metadata.uid}|${o.status?.phase}|${JSON.stringify(o.spec.domain?.devices?.interfaces ?? [])}`,
      )
    ) {
      c.enqueue(objectKey(e.object));
    }
  });
  informers.pods.onEvent((e) => {
    const k = vmKeyOfPod(e.object);
    if (k && changed(e, (p) => p.metadata.annotations?.[ANNOTATION_NETWORK_STATUS] ?? ''))
      c.enqueue(k);
  });
  return c;

  function publish(key: string, values: Map<string, number>): void {
    const { namespace = 'default', name } = splitKey(key);
    const before = published.get(key) ?? new Set<string>();
    for (const iface of before)
      if (!values.has(iface)) mismatch.remove({ namespace, vm: name, interface: iface });
    for (const [iface, v] of values) mismatch.set({ namespace, vm: name, interface: iface }, v);
    if (values.size > 0) published.set(key, new Set(values.keys()));
    else published.delete(key);
  }

  async function reconcile(key: string): Promise<Result> {
    const cached = informers.vmis.get(key);
    if (!cached?.metadata.uid || cached.status?.phase !== 'Running') {
      publish(key, new Map());
      if (cached) await clearVmiCondition(cached);
      await mirrorOnVm(key, undefined, cached ? 'the VM is no longer running' : 'the VM stopped');
      // A next instance starts from what its VM shows then (its restart may have changed the conditions).
      mirrored.delete(key);
      return {};
    }
    const uid = cached.metadata.uid;
    const pod = informers.pods
      .byIndex(INDEX_CREATED_BY, uid)
      .find((p) => p.metadata.labels?.[LABEL_CREATED_BY] === uid);
    const netStatus = networkStatusOf(pod);
    const observation = await runtime.observe(uid);
    if (!observation) return { requeueAfter: jitter(pollMs) };
    const leaseFor = await leasesOf(cached, netStatus, observation);
    const namespace = cached.metadata.namespace ?? 'default';
    const vmName =
      cached.metadata.ownerReferences?.find((o) => o.kind === 'VirtualMachine')?.name ??
      cached.metadata.name;
    const observed = interfaceStatuses(cached, netStatus, observation, leaseFor);
    // Who holds each drifted guest MAC in the pool (I/O here; the records are built purely from it).
    const holders = new Map<string, MacHolder>();
    for (const s of observed) {
      const guestMac = driftedGuestMacOf(s);
      if (guestMac === undefined || holders.has(guestMac)) continue;
      const holder = (await store.get({
        kind: 'MacAllocation',
        name: macAllocationName(guestMac),
      })) as MacAllocation | undefined;
      const owner = holder?.spec.owner;
      if (
        owner &&
        holder.status?.state !== 'Quarantined' &&
        !(owner.namespace === namespace && owner.name === vmName)
      ) {
        holders.set(
          guestMac,
          owner.namespace === namespace
            ? { namespace: 'same', name: owner.name, interface: owner.interface }
            : { namespace: 'other' },
        );
      }
    }
    const facts = await guestOsFacts(cached, observed, observation.agent !== undefined);
    const nowIso = new Date(ctx.now()).toISOString();
    const statusesFor = (o: VirtualMachineInstance, observedNow = observed): VMIInterfaceStatus[] =>
      withMismatchRecords(observedNow, o.status?.interfaces, (m) => holders.get(m), nowIso, facts);
    const statuses = statusesFor(cached);
    const mismatches = mismatchesOf(statuses);
    const message = mismatchMessage(namespace, vmName, statuses);
    const metricValues = new Map(
      statuses.filter((s) => s.name).map((s) => [s.name as string, s.guestMacMismatch ? 1 : 0]),
    );
    if (upToDate(cached, statuses, observation, message)) {
      // The common poll result: nothing new, so no store round trip.
      publish(key, metricValues);
      await mirrorOnVm(
        `${namespace}/${vmName}`,
        message,
        GUEST_MAC_RESTORED_MESSAGE,
        mismatchReason(statuses),
      );
      return { requeueAfter: jitter(pollMs) };
    }
    let previous: Condition | undefined;
    let changed = false;
    const written = await updateWithRetry<VirtualMachineInstance>(
      store,
      refOf(cached),
      (o) => {
        const status = (o.status ??= {});
        const before = JSON.stringify(status);
        const conditions = (status.conditions ??= []);
        previous = conditions.find((x) => x.type === CONDITION_GUEST_MAC_MISMATCH);
        // Recomputed on the stored object: its spec (MACs filled by the network plugin) may be newer than the cache's.
        status.interfaces = statusesFor(o, interfaceStatuses(o, netStatus, observation, leaseFor));
        if (observation.agent?.osInfo) status.guestOSInfo = observation.agent.osInfo;
        if (observation.agent)
          setCondition(conditions, { type: 'AgentConnected', status: 'True' }, nowIso);
        else removeCondition(conditions, 'AgentConnected');
        if (message) {
          setCondition(
            conditions,
            {
              type: CONDITION_GUEST_MAC_MISMATCH,
              status: 'True',
              reason: mismatchReason(status.interfaces),
              message,
            },
            nowIso,
          );
        } else removeCondition(conditions, CONDITION_GUEST_MAC_MISMATCH);
        const relabelled = labelMismatch(o, message !== undefined);
        changed = JSON.stringify(status) !== before || relabelled;
        return changed;
      },
      { expectUid: uid },
    );
    if (!written) return {};
    publish(key, metricValues);
    if (message && previous?.message !== message) {
      await event(written, 'Warning', CONDITION_GUEST_MAC_MISMATCH, message);
      log.warn({ namespace, vm: vmName, mismatches }, 'guest MAC differs from the platform MAC');
    } else if (!message && previous) {
      await event(written, 'Normal', 'GuestMACRestored', GUEST_MAC_RESTORED_MESSAGE);
    }
    await mirrorOnVm(
      `${namespace}/${vmName}`,
      message,
      GUEST_MAC_RESTORED_MESSAGE,
      mismatchReason(statuses),
    );
    return { requeueAfter: jitter(pollMs) };
  }

  /**
   * A drift whose guest MAC is the one the previous instance was stopped with survived the restart: the guest's OS sets
   * it. Where the agent answers, a read-only search of the usual configuration files names the line (once per instance).
   */
  async function guestOsFacts(
    vmi: VirtualMachineInstance,
    observed: VMIInterfaceStatus[],
    agentUp: boolean,
  ): Promise<GuestOsFacts> {
    const uid = vmi.metadata.uid ?? '';
    const previous = previousGuestMacsOf(vmi);
    for (const s of observed) {
      const guestMac = driftedGuestMacOf(s);
      const key = `${uid}|${s.name ?? ''}|${guestMac ?? ''}`;
      if (!guestMac || previous[s.name ?? ''] !== guestMac || searched.has(key)) continue;
      const before = vmi.status?.interfaces?.find((p) => p.name === s.name)?.guestMacMismatch;
      if (before?.guestMac === guestMac && before.setBy) {
        searched.set(key, before.setBy);
        continue;
      }
      if (!agentUp) continue;
      try {
        const r = await runtime.exec(uid, guestConfigSearch(guestMac), { timeoutMs: 10_000 });
        searched.set(key, guestMacSettingOf(r.stdout) ?? null);
      } catch (e) {
        log.debug(
          { err: e instanceof Error ? e.message : String(e), vmi: uid },
          'searching the guest configuration failed',
        );
      }
    }
    // Bounded: a search is cheap to repeat, and ended instances' entries are never read again.
    if (searched.size > 4096) searched.clear();
    return {
      previousGuestMac: (iface) => previous[iface],
      setBy: (iface, guestMac) => searched.get(`${uid}|${iface}|${guestMac}`) ?? undefined,
    };
  }

  /**
   * The DHCP leases of the VMI's MACs on its networks, by MAC; a network the runtime cannot answer for just has none.
   * Only this guest's MACs are asked for — those the status looks up, and those its NICs use — so a poll costs its own
   * leases, not a read of every lease on the network (10,000 per poll on a big pod network).
   */
  async function leasesOf(
    vmi: VirtualMachineInstance,
    netStatus: ReturnType<typeof networkStatusOf>,
    observation: GuestObservation,
  ): Promise<(mac: string) => Lease | undefined> {
    const namespace = vmi.metadata.namespace ?? 'default';
    const macs = new Set<string>();
    interfaceStatuses(vmi, netStatus, observation, (mac) => void macs.add(mac.toLowerCase()));
    for (const nic of observation.nics) {
      macs.add(nic.deviceMac.toLowerCase());
      macs.add(nic.guestMac.toLowerCase());
    }
    const tables: Array<Map<string, Lease>> = [];
    for (const plan of interfacePlans(vmi.spec, namespace)) {
      try {
        // Every poll resolves the VMI's NADs: the shared informer's cache saves a store read each time.
        const network = await resolveNetwork(store, plan.network, namespace, informers.nads);
        const leases = await runtime.leases(network.id, [...macs]);
        tables.push(new Map(leases.map((l) => [l.mac.toLowerCase(), l])));
      } catch (e) {
        log.debug(
          { err: e instanceof Error ? e.message : String(e), network: plan.network.name },
          'no leases for this network',
        );
      }
    }
    return (mac) => tables.map((t) => t.get(mac)).find((l) => l !== undefined);
  }

  async function clearVmiCondition(vmi: VirtualMachineInstance): Promise<void> {
    if (
      !hasMismatchLabel(vmi) &&
      !vmi.status?.conditions?.some((x) => x.type === CONDITION_GUEST_MAC_MISMATCH)
    )
      return;
    await updateWithRetry<VirtualMachineInstance>(
      store,
      refOf(vmi),
      (o) => {
        const removed = removeCondition(o.status?.conditions ?? [], CONDITION_GUEST_MAC_MISMATCH);
        return labelMismatch(o, false) || removed;
      },
      {
        expectUid: vmi.metadata.uid ?? '',
      },
    );
  }

  /** The VM shows the same condition so that `get vm` tells; its events mark the transitions. */
  async function mirrorOnVm(
    vmKey: string,
    message: string | undefined,
    restoredWhy: string,
    reason = REASON_GUEST_MAC_CHANGED,
  ): Promise<void> {
    // What this observer last found or wrote on the VM: the node side keeps no VM informer (a node's token reads only
    // the VMs running there, one at a time), so the VM is read only when the message may differ from it.
    if (mirrored.has(vmKey) && mirrored.get(vmKey) === message) return;
    const nowIso = new Date(ctx.now()).toISOString();
    let had: Condition | undefined;
    const written = await updateWithRetry<VirtualMachine>(
      store,
      refFor('VirtualMachine', vmKey),
      (vm) => {
        const status = (vm.status ??= {});
        const conditions = (status.conditions ??= []);
        had = conditions.find((x) => x.type === CONDITION_GUEST_MAC_MISMATCH);
        if (message)
          return setCondition(
            conditions,
            {
              type: CONDITION_GUEST_MAC_MISMATCH,
              status: 'True',
              reason,
              message,
            },
            nowIso,
          );
        return removeCondition(conditions, CONDITION_GUEST_MAC_MISMATCH);
      },
    );
    mirrored.set(vmKey, message);
    if (!written) return;
    if (message && had?.message !== message)
      await event(written, 'Warning', CONDITION_GUEST_MAC_MISMATCH, message);
    else if (!message && had) await event(written, 'Normal', 'GuestMACRestored', restoredWhy);
  }
}
