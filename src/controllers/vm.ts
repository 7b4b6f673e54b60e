// The vm controller (virt-controller role): VirtualMachine → VirtualMachineInstance by runStrategy and state change
// requests, VMI → launcher Pod with the Multus request for each MAC, and the VM's status (printableStatus, Ready,
// RestartRequired).
import { attachDefaultPodInterface } from '../resources/pod-interface-default.ts';
import { AlreadyExists } from '../resources/errors.ts';
import {
  refOf,
  removeCondition,
  setCondition,
  type Condition,
  type OwnerReference,
} from '../resources/meta.ts';
import {
  ANNOTATION_NETWORKS,
  LABEL_CREATED_BY,
  LABEL_VM_NAME,
  type Interface,
  type Network,
  type Pod,
  type RunStrategy,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VirtualMachineStatus,
  type VMISpec,
} from '../resources/types.ts';
import { generatedSuffix } from '../resources/names.ts';
import { bindingOf } from '../resources/virtualmachine.ts';
import { guestCpus, guestMemoryMiB, isFinished } from '../resources/vmi.ts';
import { recordAudit } from './audit.ts';
import { INDEX_CREATED_BY, INDEX_VM, vmKeyOfPod, type ControllerContext } from './context.ts';
import { eventRecorder } from './events.ts';
import { changed, objectKey, refFor, type Controller, type Result } from './framework.ts';
import {
  nadRefOf,
  networkSelectionElements,
  podNetworkRequest,
} from '../network/interface-plans.ts';
import { instanceMac } from '../network/mac-precedence.ts';
import { ANNOTATION_POD_NETWORK } from '../network/multus.ts';
import { deleteIfExists, updateWithRetry } from './optimistic-update.ts';
import type { Scheduler } from './scheduler.ts';

/** VMI annotation: the MACs the previous instance of the VM ran with, `{interface: mac}` (for the connectivity check). */
export const ANNOTATION_PREVIOUS_MACS = 'harrow.io/previous-macs';
/** KubeVirt's wording for RestartRequired. */
export const RESTART_REQUIRED_MESSAGE =
  'a non-live-updatable field was changed in the template spec';
export const RESTART_REQUIRED_REASON = 'NonLiveUpdatableFieldChanged';
const LAUNCHER_PREFIX = 'virt-launcher-';
/** How soon a VMI no node had room for is tried again. */
const NO_NODE_RETRY_MS = 2000;
/** A VMI that ran this long resets the crash-loop count. */
const CRASH_LOOP_RESET_MS = 5 * 60_000;

/** VM status fields Harrow adds beside KubeVirt's. */
export interface StartFailure {
  consecutiveFailCount: number;
  lastFailedVMIUID: string;
  retryAfterTimestamp: string;
}

type VmStatus = VirtualMachineStatus & {
  startFailure?: StartFailure;
  /** The MACs of the instance last stopped by the controller, until the next instance is created. */
  previousMacs?: Record<string, string>;
  observedGeneration?: number;
};

export function runStrategyOf(vm: VirtualMachine): RunStrategy {
  if (vm.spec.runStrategy) return vm.spec.runStrategy;
  return vm.spec.running === true ? 'Always' : 'Halted';
}

/** KubeVirt-like crash-loop backoff: the first failure restarts at once, then 10 s doubling up to 5 min. */
export function crashLoopDelayMs(consecutiveFailures: number): number {
  if (consecutiveFailures <= 1) return 0;
  return Math.min(300_000, 10_000 * 2 ** (consecutiveFailures - 2));
}

export interface VmDecision {
  /** Delete the current VMI. */
  stop: boolean;
  /** Create a new VMI (after the stop, if any) from the current template. */
  start: boolean;
  startFailure: StartFailure | undefined;
  /** Run again after this long (crash-loop backoff, or the crash-loop reset). */
  requeueAfter?: number;
  /** Waiting out a crash-loop backoff. */
  crashLoop: boolean;
  /** runStrategy Once has run: set it to Halted (as KubeVirt does). */
  halt: boolean;
}

const ownerVmOf = (vmi: VirtualMachineInstance): OwnerReference | undefined =>
  vmi.metadata.ownerReferences?.find((o) => o.kind === 'VirtualMachine');

/** When the VMI became Running (its Ready condition's transition, else its creation). */
function runningSince(vmi: VirtualMachineInstance): number {
  const ready = vmi.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
  return Date.parse(ready?.lastTransitionTime ?? vmi.metadata.creationTimestamp ?? '') || 0;
}

/**
 * What the VM wants done with its VMI: the state change requests in order (a Stop with a uid only stops that VMI; Start
 * after Stop is a restart), then the run strategy. Every request is consumed. Pure.
 */
export function decide(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  nowMs: number,
): VmDecision {
  const strategy = runStrategyOf(vm);
  let state: 'none' | 'active' | 'finished' = !vmi
    ? 'none'
    : isFinished(vmi)
      ? 'finished'
      : 'active';
  let uid = vmi?.metadata.uid;
  let stop = false;
  let start = false;
  let requestedStart = false;
  for (const r of vm.status?.stateChangeRequests ?? []) {
    if (r.action === 'Stop') {
      if (state !== 'none' && (r.uid === undefined || r.uid === uid)) {
        if (start) start = false;
        else stop = true;
        state = 'none';
        uid = undefined;
      }
    } else if (r.action === 'Start' && state !== 'active') {
      if (state === 'finished') stop = true;
      start = true;
      requestedStart = true;
      state = 'active';
      uid = undefined;
    }
  }
  const d: VmDecision = {
    stop,
    start,
    startFailure: vm.status?.startFailure as StartFailure | undefined,
    crashLoop: false,
    halt: false,
  };
  if (vm.metadata.deletionTimestamp !== undefined || strategy === 'Halted') {
    return { ...d, stop: vmi !== undefined, start: false };
  }
  const phase = vmi?.status?.phase;
  switch (strategy) {
    case 'Always':
    case 'RerunOnFailure':
      if (state === 'finished' && vmi) {
        if (phase === 'Failed') {
          let sf = d.startFailure;
          if (!sf || sf.lastFailedVMIUID !== vmi.metadata.uid) {
            const n = (sf?.consecutiveFailCount ?? 0) + 1;
            sf = {
              consecutiveFailCount: n,
              lastFailedVMIUID: vmi.metadata.uid ?? '',
              retryAfterTimestamp: new Date(nowMs + crashLoopDelayMs(n)).toISOString(),
            };
          }
          d.startFailure = sf;
          const wait = Date.parse(sf.retryAfterTimestamp) - nowMs;
          if (wait > 0 && !requestedStart)
            return { ...d, stop: false, start: false, crashLoop: true, requeueAfter: wait };
        } else if (strategy === 'RerunOnFailure') {
          break; // Succeeded: RerunOnFailure leaves it
        }
        d.stop = true;
        d.start = true;
      } else if (state === 'none') {
        d.start = true;
      } else if (state === 'active' && vmi && phase === 'Running' && d.startFailure) {
        const ranFor = nowMs - runningSince(vmi);
        if (ranFor >= CRASH_LOOP_RESET_MS) d.startFailure = undefined;
        else d.requeueAfter = CRASH_LOOP_RESET_MS - ranFor;
      }
      break;
    case 'Once':
      if (state === 'finished' || (stop && !start)) {
        d.halt = true;
        d.start = false;
      } else if (state === 'none') d.start = true;
      break;
    case 'Manual':
      break;
  }
  return d;
}

/** The MAC each interface of a VMI runs with, `{interface: mac}` (the one precedence rule's instanceMac). */
export function instanceMacsByInterface(vmi: VirtualMachineInstance): Record<string, string> {
  const out: Record<string, string> = {};
  const status = new Map(
    (vmi.status?.interfaces ?? [])
      .filter((i) => i.name && i.infoSource !== 'guest-agent')
      .map((i) => [i.name as string, i.mac]),
  );
  for (const iface of vmi.spec.domain?.devices?.interfaces ?? []) {
    const mac = instanceMac({ spec: iface.macAddress, vmiStatus: status.get(iface.name) });
    if (mac) out[iface.name] = mac;
  }
  return out;
}

const networkSource = (n: Network, namespace: string): string => {
  if (n.pod !== undefined) return 'pod';
  const r = nadRefOf(n, namespace);
  return r ? `multus ${r.namespace}/${r.name}` : 'none';
};

/**
 * The non-live-updatable differences between the template and a running VMI: interfaces and networks (names, MACs,
 * bindings, models, network names), CPU and memory. A MAC not yet known on either side (pool admission off) is skipped.
 */
export function nonLiveUpdatableChanges(
  vmTemplate: VMISpec,
  vmi: VirtualMachineInstance,
  namespace: string,
): string[] {
  // The instance was made from the template with KubeVirt's defaults: compare like with like.
  const template = structuredClone(vmTemplate);
  attachDefaultPodInterface(template);
  const changes: string[] = [];
  const running = vmi.spec;
  const runningMacs = instanceMacsByInterface(vmi);
  const tIfs = template.domain?.devices?.interfaces ?? [];
  const rIfs = new Map((running.domain?.devices?.interfaces ?? []).map((i) => [i.name, i]));
  const tNames = tIfs.map((i) => i.name);
  const rNames = [...rIfs.keys()];
  if (tNames.join(',') !== rNames.join(','))
    changes.push(`interfaces [${rNames.join(', ')}] → [${tNames.join(', ')}]`);
  for (const t of tIfs) {
    const r = rIfs.get(t.name);
    if (!r) continue;
    const tMac = t.macAddress?.toLowerCase();
    const rMac = runningMacs[t.name];
    if (tMac && rMac && tMac !== rMac)
      changes.push(`interface ${t.name}: macAddress ${rMac} → ${tMac}`);
    if (bindingOf(t) !== bindingOf(r as Interface))
      changes.push(`interface ${t.name}: binding ${bindingOf(r as Interface)} → ${bindingOf(t)}`);
    if ((t.model ?? 'virtio') !== ((r as Interface).model ?? 'virtio')) {
      changes.push(
        `interface ${t.name}: model ${(r as Interface).model ?? 'virtio'} → ${t.model ?? 'virtio'}`,
      );
    }
  }
  const rNets = new Map((running.networks ?? []).map((n) => [n.name, n]));
  const tNets = template.networks ?? [];
  if (tNets.map((n) => n.name).join(',') !== [...rNets.keys()].join(',')) {
    changes.push(
      `networks [${[...rNets.keys()].join(', ')}] → [${tNets.map((n) => n.name).join(', ')}]`,
    );
  }
  for (const t of tNets) {
    const r = rNets.get(t.name);
    if (r && networkSource(t, namespace) !== networkSource(r, namespace)) {
      changes.push(
        `network ${t.name}: ${networkSource(r, namespace)} → ${networkSource(t, namespace)}`,
      );
    }
  }
  if (guestCpus(template) !== guestCpus(running))
    changes.push(`cpu ${guestCpus(running)} → ${guestCpus(template)}`);
  const tm = guestMemoryMiB(template);
  const rm = guestMemoryMiB(running);
  if (tm !== rm) changes.push(`memory ${rm}Mi → ${tm}Mi`);
  return changes;
}

function printableStatus(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  d: VmDecision,
  podsLeft: boolean,
): string {
  if (vm.metadata.deletionTimestamp !== undefined) return 'Terminating';
  if (!vmi) return d.crashLoop ? 'CrashLoopBackOff' : podsLeft ? 'Stopping' : 'Stopped';
  if (vmi.metadata.deletionTimestamp !== undefined) return 'Stopping';
  switch (vmi.status?.phase) {
    case 'Running':
      return 'Running';
    case 'Succeeded':
    case 'Failed':
      return d.crashLoop ? 'CrashLoopBackOff' : 'Stopped';
    case 'Unknown':
      return 'Unknown';
    default:
      return 'Starting';
  }
}

/**
 * The VM's status from its VMI after this reconcile's actions; conditions of other controllers are kept. `podsLeft`: a
 * launcher pod of the VM still exists (the VM is Stopping until it is gone).
 */
export function computeVmStatus(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  d: VmDecision,
  nowIso: string,
  podsLeft = false,
): VmStatus {
  const prev = (vm.status ?? {}) as VmStatus;
  const status: VmStatus = { ...structuredClone(prev) };
  delete status.stateChangeRequests;
  const conditions: Condition[] = status.conditions ?? [];
  const running = vmi?.status?.phase === 'Running';
  const vmiReady = vmi?.status?.conditions?.find((c) => c.type === 'Ready');
  const ready = running && vmiReady?.status !== 'False';
  if (ready) setCondition(conditions, { type: 'Ready', status: 'True' }, nowIso);
  else if (!vmi)
    setCondition(
      conditions,
      { type: 'Ready', status: 'False', reason: 'VMINotExists', message: 'VMI does not exist' },
      nowIso,
    );
  else {
    setCondition(
      conditions,
      {
        type: 'Ready',
        status: 'False',
        reason: 'GuestNotRunning',
        message: `VMI is ${vmi.status?.phase ?? 'Pending'}`,
      },
      nowIso,
    );
  }
  const changes =
    vmi && !isFinished(vmi)
      ? nonLiveUpdatableChanges(vm.spec.template.spec, vmi, vm.metadata.namespace ?? 'default')
      : [];
  if (changes.length > 0) {
    setCondition(
      conditions,
      {
        type: 'RestartRequired',
        status: 'True',
        reason: RESTART_REQUIRED_REASON,
        message: `${RESTART_REQUIRED_MESSAGE}: ${changes.join('; ')}`,
      },
      nowIso,
    );
  } else removeCondition(conditions, 'RestartRequired');
  status.conditions = conditions;
  status.printableStatus = printableStatus(vm, vmi, d, podsLeft);
  status.ready = ready;
  status.created = vmi !== undefined;
  if (vm.metadata.generation !== undefined) status.observedGeneration = vm.metadata.generation;
  if (d.startFailure) status.startFailure = d.startFailure;
  else delete status.startFailure;
  if (vmi) delete status.previousMacs;
  return status;
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

const vmFingerprint = (vm: VirtualMachine): string =>
  `${vm.metadata.uid}|${vm.metadata.generation}|${vm.metadata.deletionTimestamp ?? ''}|${JSON.stringify(vm.status?.stateChangeRequests ?? [])}`;

const vmiFingerprintForVm = (vmi: VirtualMachineInstance): string =>
  `${vmi.metadata.uid}|${vmi.status?.phase}|${vmi.metadata.deletionTimestamp ?? ''}|` +
  `${vmi.status?.conditions?.find((x) => x.type === 'Ready')?.status}|${JSON.stringify(vmi.spec)}|${JSON.stringify(instanceMacsByInterface(vmi))}`;

export function vmController(ctx: ControllerContext): Controller {
  const { store, informers } = ctx;
  const log = ctx.logger.child({ controller: 'vm' });
  const event = eventRecorder(store, log, { component: 'virt-controller', host: ctx.nodeName });
  const c = ctx.manager.controller({ name: 'vm', reconcile, concurrency: ctx.concurrency });
  // Only changes that can alter the decision or the status (not the VM's own status writes, not guest IPs).
  informers.vms.onEvent((e) => {
    if (changed(e, vmFingerprint)) c.enqueue(objectKey(e.object));
  });
  informers.vmis.onEvent((e) => {
    if (changed(e, vmiFingerprintForVm)) c.enqueue(objectKey(e.object));
  });
  // A stopped VM's last pod going turns Stopping into Stopped.
  informers.pods.onEvent((e) => {
    const k = vmKeyOfPod(e.object);
    if (k && e.type === 'DELETED') c.enqueue(k);
  });
  return c;

  async function reconcile(key: string): Promise<Result> {
    const ref = refFor('VirtualMachine', key);
    const vm = (await store.get(ref)) as VirtualMachine | undefined;
    let vmi = (await store.get({ ...ref, kind: 'VirtualMachineInstance' })) as
      VirtualMachineInstance | undefined;
    if (!vm) {
      // The VM is gone: its VMI goes too (the launcher then stops the guest, the vmi controller removes the pod).
      if (vmi && ownerVmOf(vmi) && (await deleteIfExists(store, refOf(vmi)))) {
        log.info(
          { namespace: vmi.metadata.namespace, vm: vmi.metadata.name },
          'VM deleted: deleted its VMI',
        );
      }
      return {};
    }
    if (vmi) {
      const owner = ownerVmOf(vmi);
      if (owner && owner.uid !== vm.metadata.uid) {
        // A VMI left by an earlier VM of the same name.
        await deleteIfExists(store, refOf(vmi));
        vmi = undefined;
      }
    }
    const nowMs = ctx.now();
    const nowIso = new Date(nowMs).toISOString();
    const d = decide(vm, vmi, nowMs);
    let current = vm;
    if (d.stop && vmi) {
      const stopped: VirtualMachine = structuredClone(current);
      const status = (stopped.status ??= {}) as VmStatus;
      delete status.stateChangeRequests;
      status.previousMacs = instanceMacsByInterface(vmi);
      if (d.startFailure) status.startFailure = d.startFailure;
      // The remembered MACs and the VMI's deletion go together, so a crash in between cannot lose them.
      const [written] = await store.commit([
        { type: 'update', object: stopped },
        { type: 'delete', ref: refOf(vmi) },
      ]);
      current = written as VirtualMachine;
      await event(
        current,
        'Normal',
        'SuccessfulDelete',
        `Stopped the virtual machine by deleting the virtual machine instance ${vmi.metadata.uid ?? ''}`,
      );
      log.info(
        {
          namespace: vm.metadata.namespace,
          vm: vm.metadata.name,
          vmi: vmi.metadata.uid,
          phase: vmi.status?.phase,
        },
        'stopped VMI',
      );
      vmi = undefined;
    }
    if (d.start && !vmi) vmi = await createVmi(current);
    const status = computeVmStatus(
      current,
      vmi,
      d,
      nowIso,
      informers.pods.byIndex(INDEX_VM, key).length > 0,
    );
    if (!sameJson(current.status, status) || d.halt) {
      const next: VirtualMachine = { ...current, status };
      if (d.halt) {
        next.spec = { ...current.spec, runStrategy: 'Halted' };
        delete next.spec.running;
      }
      await store.update(next);
    }
    return d.requeueAfter !== undefined ? { requeueAfter: d.requeueAfter } : {};
  }

  async function createVmi(vm: VirtualMachine): Promise<VirtualMachineInstance> {
    const template = vm.spec.template;
    const previous = ((vm.status ?? {}) as VmStatus).previousMacs;
    const annotations: Record<string, string> = { ...(template.metadata?.annotations ?? {}) };
    if (previous && Object.keys(previous).length > 0)
      annotations[ANNOTATION_PREVIOUS_MACS] = JSON.stringify(previous);
    if (vm.metadata.generation !== undefined)
      annotations['kubevirt.io/vm-generation'] = String(vm.metadata.generation);
    const vmi: VirtualMachineInstance = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: {
        name: vm.metadata.name,
        namespace: vm.metadata.namespace ?? 'default',
        labels: { ...(template.metadata?.labels ?? {}), [LABEL_VM_NAME]: vm.metadata.name },
        annotations,
        ownerReferences: [
          {
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachine',
            name: vm.metadata.name,
            uid: vm.metadata.uid ?? '',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: structuredClone(template.spec),
      status: { phase: 'Pending' },
    };
    // KubeVirt defaults the instance, not the VM: a template without NICs runs with the default pod interface.
    attachDefaultPodInterface(vmi.spec);
    const created = (await store.create(vmi)) as VirtualMachineInstance;
    await event(
      vm,
      'Normal',
      'SuccessfulCreate',
      `Started the virtual machine by creating the new virtual machine instance ${created.metadata.name}`,
    );
    log.info(
      { namespace: created.metadata.namespace, vm: vm.metadata.name, vmi: created.metadata.uid },
      'created VMI',
    );
    if (previous) {
      const ifaces = template.spec.domain?.devices?.interfaces ?? [];
      const changes = ifaces.flatMap((iface, i) => {
        const old = previous[iface.name];
        const now = iface.macAddress?.toLowerCase();
        return old && now && old !== now
          ? [
              {
                field: `spec.template.spec.domain.devices.interfaces[${i}].macAddress`,
                old,
                new: now,
              },
            ]
          : [];
      });
      if (changes.length > 0) {
        await recordAudit(store, log, {
          verb: 'restart-applied',
          resource: {
            kind: 'VirtualMachine',
            namespace: vm.metadata.namespace ?? 'default',
            name: vm.metadata.name,
          },
          changes,
          outcome: {
            code: 200,
            message: `the restart applied ${changes.length} MAC change(s) from the manifest; new instance ${created.metadata.uid ?? ''}`,
          },
        });
      }
    }
    return created;
  }
}

/** The launcher Pod of a VMI: labels, owner, and the Multus request naming each MAC. */
export function launcherPod(vmi: VirtualMachineInstance, nodeName: string): Pod {
  const namespace = vmi.metadata.namespace ?? 'default';
  const elements = networkSelectionElements(vmi.spec, namespace);
  const podNet = podNetworkRequest(vmi.spec, namespace);
  const annotations: Record<string, string> = {};
  if (elements.length > 0) annotations[ANNOTATION_NETWORKS] = JSON.stringify(elements);
  if (podNet) annotations[ANNOTATION_POD_NETWORK] = JSON.stringify(podNet);
  let base = vmi.metadata.name.slice(0, 63 - LAUNCHER_PREFIX.length - 6).replace(/-+$/, '');
  if (base === '') base = 'vm';
  const suffix = generatedSuffix();
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${LAUNCHER_PREFIX}${base}-${suffix}`,
      namespace,
      labels: {
        'kubevirt.io': 'virt-launcher',
        [LABEL_VM_NAME]: vmi.metadata.name,
        [LABEL_CREATED_BY]: vmi.metadata.uid ?? '',
      },
      annotations,
      ownerReferences: [
        {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachineInstance',
          name: vmi.metadata.name,
          uid: vmi.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { nodeName, containers: [{ name: 'compute', image: 'harrow/virt-launcher' }] },
    status: { phase: 'Pending' },
  };
}

/** The vmi controller (virt-controller's VMI part): one launcher Pod per live VMI; pods of gone VMIs are deleted. */
export function vmiController(ctx: ControllerContext, scheduler?: Scheduler): Controller {
  const { store, informers } = ctx;
  const log = ctx.logger.child({ controller: 'vmi' });
  const event = eventRecorder(store, log, { component: 'virt-controller', host: ctx.nodeName });
  // Pods just created, by VMI uid, until the informer shows them (a store whose watch lags must not get a second pod).
  const expected = new Map<string, string>();
  const c = ctx.manager.controller({ name: 'vmi', reconcile, concurrency: ctx.concurrency });
  informers.vmis.onEvent((e) => {
    if (
      changed(e, (o) => `${o.metadata.uid}|${isFinished(o)}|${o.metadata.deletionTimestamp ?? ''}`)
    )
      c.enqueue(objectKey(e.object));
  });
  // Only a pod's coming and going matters here.
  informers.pods.onEvent((e) => {
    const k = vmKeyOfPod(e.object);
    if (k && changed(e, () => '')) c.enqueue(k);
  });
  return c;

  async function reconcile(key: string): Promise<Result> {
    const vmi = (await store.get(refFor('VirtualMachineInstance', key))) as
      VirtualMachineInstance | undefined;
    const uid = vmi?.metadata.uid;
    for (const pod of informers.pods.byIndex(INDEX_VM, key)) {
      if (pod.metadata.labels?.[LABEL_CREATED_BY] === uid) continue;
      if (await deleteIfExists(store, refOf(pod))) {
        log.info(
          { namespace: pod.metadata.namespace, pod: pod.metadata.name },
          'deleted the pod of a gone VMI',
        );
      }
    }
    if (!vmi || !uid) return {};
    if (isFinished(vmi) || vmi.metadata.deletionTimestamp !== undefined) {
      expected.delete(uid);
      return {};
    }
    const mine = informers.pods.byIndex(INDEX_CREATED_BY, uid);
    if (mine.length > 0) {
      expected.delete(uid);
      return {};
    }
    const pending = expected.get(uid);
    if (
      pending &&
      (await store.get({
        kind: 'Pod',
        namespace: vmi.metadata.namespace ?? 'default',
        name: pending,
      }))
    )
      return {};
    let node = vmi.status?.nodeName || (scheduler ? scheduler.pick(vmi) : ctx.nodeName);
    if (!node) {
      await event(vmi, 'Warning', 'FailedScheduling', 'no Ready node has room for this VMI');
      return { requeueAfter: NO_NODE_RETRY_MS };
    }
    // The node goes on the VMI first: its node's agent sees the VMI (and then the pod) only once it is named there.
    if (vmi.status?.nodeName !== node) {
      const named = await updateWithRetry<VirtualMachineInstance>(
        store,
        refOf(vmi),
        (o) => {
          if ((o.status ??= {}).nodeName) return false;
          o.status.nodeName = node;
          return true;
        },
        { expectUid: uid },
      );
      if (!named) return {};
      node = named.status?.nodeName ?? node;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const pod = (await store.create(launcherPod(vmi, node))) as Pod;
        expected.set(uid, pod.metadata.name);
        await event(
          vmi,
          'Normal',
          'SuccessfulCreate',
          `Created virtual machine pod ${pod.metadata.name}`,
        );
        return {};
      } catch (e) {
        if (!(e instanceof AlreadyExists) || attempt >= 4) throw e;
      }
    }
  }
}
