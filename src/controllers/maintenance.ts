// The maintenance controller: restarts a VM whose restart was planned into a maintenance window once the window is open
// (never before, never outside one), re-plans a missed or changed window, drops the plan of a VM that is not running,
// and says which in the RestartScheduled condition, an Event and an audit record.
import {
  ANNOTATION_RESTART_SCHEDULED_AT,
  ANNOTATION_RESTART_SCHEDULED_INSTANCE,
  CONDITION_RESTART_SCHEDULED,
  appliedWindow,
  describeWindow,
  openAt,
  planFor,
  plannedMessage,
  wallClock,
  type AppliedWindow,
} from '../maintenance/window.ts';
import { HarrowError } from '../resources/errors.ts';
import {
  removeCondition,
  setCondition,
  type Condition,
  type KubeObject,
} from '../resources/meta.ts';
import {
  ANNOTATION_MAINTENANCE_WINDOW,
  type VirtualMachine,
  type VirtualMachineInstance,
} from '../resources/types.ts';
import { recordAudit } from './audit.ts';
import type { ControllerContext } from './context.ts';
import { eventRecorder, type EventType } from './events.ts';
import { changed, objectKey, refFor, type Controller, type Result } from './framework.ts';
import { updateWithRetry } from './optimistic-update.ts';
import { runStrategyOf } from './run-strategy.ts';

// Timers are real while a plan may be weeks away: wake at least hourly and decide again from the clock.
const MAX_WAIT_MS = 3_600_000;

export type MaintenanceDecision =
  | { kind: 'none' }
  /** RestartScheduled is True but the plan is gone (the annotation was removed): drop the condition. */
  | { kind: 'stale' }
  | { kind: 'wait'; at: Date; message: string; requeueAfter: number }
  | { kind: 'replan'; at: Date; message: string; missed: boolean }
  | { kind: 'restart'; planned: Date; message: string }
  | {
      kind: 'drop';
      reason: 'VMNotRunning' | 'AlreadyRestarted' | 'NoMaintenanceWindow' | 'InvalidPlan';
      message: string;
      eventType: EventType;
    };

const isRunning = (vm: VirtualMachine, vmi: VirtualMachineInstance | undefined): boolean => {
  const phase = vmi?.status?.phase;
  return (
    runStrategyOf(vm) !== 'Halted' &&
    vmi !== undefined &&
    phase !== undefined &&
    phase !== 'Unknown' &&
    phase !== 'Succeeded' &&
    phase !== 'Failed'
  );
};

/** What to do about a VM's planned restart at `nowMs` (pure: the reconcile carries it out). */
export function decideMaintenance(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  namespace: KubeObject | undefined,
  nowMs: number,
): MaintenanceDecision {
  const raw = vm.metadata.annotations?.[ANNOTATION_RESTART_SCHEDULED_AT];
  if (raw === undefined) {
    const shown = vm.status?.conditions?.some(
      (c) => c.type === CONDITION_RESTART_SCHEDULED && c.status === 'True',
    );
    return shown ? { kind: 'stale' } : { kind: 'none' };
  }
  const ns = vm.metadata.namespace ?? 'default';
  const plannedMs = Date.parse(raw);
  if (Number.isNaN(plannedMs)) {
    return {
      kind: 'drop',
      reason: 'InvalidPlan',
      message: `scheduled restart dropped: ${ANNOTATION_RESTART_SCHEDULED_AT} ${JSON.stringify(raw)} is not a time`,
      eventType: 'Warning',
    };
  }
  const planned = new Date(plannedMs);
  const instance = vm.metadata.annotations?.[ANNOTATION_RESTART_SCHEDULED_INSTANCE];
  if (instance && vmi?.metadata.uid && vmi.metadata.uid !== instance) {
    return {
      kind: 'drop',
      reason: 'AlreadyRestarted',
      message: `scheduled restart for ${raw} dropped: the VM has restarted since it was scheduled (instance ${vmi.metadata.uid} replaced ${instance}), so its changes are applied`,
      eventType: 'Normal',
    };
  }
  let applied: AppliedWindow | undefined;
  try {
    applied = appliedWindow(vm, namespace);
  } catch (e) {
    if (!(e instanceof HarrowError)) throw e;
    return {
      kind: 'drop',
      reason: 'NoMaintenanceWindow',
      message: `scheduled restart for ${raw} dropped: ${e.message}`,
      eventType: 'Warning',
    };
  }
  if (!applied) {
    return {
      kind: 'drop',
      reason: 'NoMaintenanceWindow',
      message: `scheduled restart for ${raw} dropped: no maintenance window applies any more (the ${ANNOTATION_MAINTENANCE_WINDOW} annotation was removed from the VM and namespace ${ns}); restart the VM yourself or set a window and schedule again`,
      eventType: 'Warning',
    };
  }
  const now = new Date(nowMs);
  const plannedIn = openAt(applied.window, planned);
  if (nowMs < plannedMs) {
    if (!plannedIn) {
      const at = planFor(applied.window, now);
      return {
        kind: 'replan',
        at,
        missed: false,
        message: plannedMessage(
          at,
          applied,
          ns,
          `the maintenance window changed (${raw} is outside it): `,
        ),
      };
    }
    return {
      kind: 'wait',
      at: planned,
      message: plannedMessage(planned, applied, ns),
      requeueAfter: Math.min(plannedMs - nowMs, MAX_WAIT_MS),
    };
  }
  if (!isRunning(vm, vmi)) {
    return {
      kind: 'drop',
      reason: 'VMNotRunning',
      message: `scheduled restart for ${raw} dropped: the VM is not running, so its changes apply when it next starts`,
      eventType: 'Normal',
    };
  }
  const open = openAt(applied.window, now);
  if (open) {
    return {
      kind: 'restart',
      planned,
      message: `restarting in maintenance ${describeWindow(applied, ns)}, open ${wallClock(open.start, applied.window.timeZone)} until ${wallClock(open.end, applied.window.timeZone)}; planned for ${raw}`,
    };
  }
  // Past the plan and outside every window: Harrow was down through it (or the window moved). Never restart outside one.
  const at = planFor(applied.window, now);
  const why = plannedIn
    ? `missed the window ${wallClock(plannedIn.start, applied.window.timeZone)}–${wallClock(plannedIn.end, applied.window.timeZone)} (Harrow was not running then); `
    : `the maintenance window changed (${raw} is outside it); `;
  return {
    kind: 'replan',
    at,
    missed: plannedIn !== undefined,
    message: plannedMessage(at, applied, ns, why),
  };
}

const scheduledCondition = (
  status: 'True' | 'False',
  reason: string,
  message: string,
): Condition => ({ type: CONDITION_RESTART_SCHEDULED, status, reason, message });

export function maintenanceController(ctx: ControllerContext): Controller {
  const { store, informers } = ctx;
  const namespaces = ctx.manager.informer<KubeObject>('Namespace');
  const log = ctx.logger.child({ controller: 'maintenance' });
  const event = eventRecorder(store, log, { component: 'harrow-maintenance', host: ctx.nodeName });
  const c = ctx.manager.controller({
    name: 'maintenance',
    reconcile,
    concurrency: ctx.concurrency,
  });
  const planOf = (vm: VirtualMachine): string =>
    `${vm.metadata.annotations?.[ANNOTATION_RESTART_SCHEDULED_AT] ?? ''}|${vm.metadata.annotations?.[ANNOTATION_MAINTENANCE_WINDOW] ?? ''}|${
      vm.status?.conditions?.find((x) => x.type === CONDITION_RESTART_SCHEDULED)?.status ?? ''
    }`;
  const hasPlan = (vm: VirtualMachine): boolean =>
    vm.metadata.annotations?.[ANNOTATION_RESTART_SCHEDULED_AT] !== undefined ||
    vm.status?.conditions?.some(
      (x) => x.type === CONDITION_RESTART_SCHEDULED && x.status === 'True',
    ) === true;
  informers.vms.onEvent((e) => {
    if (e.type !== 'DELETED' && hasPlan(e.object) && changed(e, planOf))
      c.enqueue(objectKey(e.object));
  });
  // A new instance of a VM with a plan (restarted meanwhile) makes the plan moot.
  informers.vmis.onEvent((e) => {
    if (e.type !== 'ADDED') return;
    const vm = informers.vms.get(objectKey(e.object));
    if (vm && hasPlan(vm)) c.enqueue(objectKey(vm));
  });
  // A namespace's window changing moves the plans of its VMs that follow it.
  namespaces.onEvent((e) => {
    if (!changed(e, (n) => n.metadata.annotations?.[ANNOTATION_MAINTENANCE_WINDOW] ?? '')) return;
    for (const vm of informers.vms.values()) {
      if ((vm.metadata.namespace ?? 'default') === e.object.metadata.name && hasPlan(vm))
        c.enqueue(objectKey(vm));
    }
  });
  return c;

  async function reconcile(key: string): Promise<Result> {
    const cached = informers.vms.get(key);
    if (!cached) return {};
    const ns = cached.metadata.namespace ?? 'default';
    const vmi = informers.vmis.get(key);
    const nowMs = ctx.now();
    const nowIso = new Date(nowMs).toISOString();
    const d = decideMaintenance(cached, vmi, namespaces.get(ns), nowMs);
    const ref = refFor('VirtualMachine', key);
    const plan = cached.metadata.annotations?.[ANNOTATION_RESTART_SCHEDULED_AT];
    const conditionsOf = (vm: VirtualMachine): Condition[] =>
      ((vm.status ??= {}).conditions ??= []);
    const setPlan = (vm: VirtualMachine, at: string | undefined): void => {
      const annotations = { ...(vm.metadata.annotations ?? {}) };
      if (at === undefined) {
        delete annotations[ANNOTATION_RESTART_SCHEDULED_AT];
        delete annotations[ANNOTATION_RESTART_SCHEDULED_INSTANCE];
      } else annotations[ANNOTATION_RESTART_SCHEDULED_AT] = at;
      vm.metadata.annotations = annotations;
    };
    /** Writes `change` only if the stored plan is still the one decided on (a cancel may race this reconcile). */
    const writePlan = async (
      change: (vm: VirtualMachine) => void,
    ): Promise<VirtualMachine | undefined> => {
      let applied = false;
      const written = await updateWithRetry<VirtualMachine>(store, ref, (vm) => {
        applied =
          vm.metadata.annotations?.[ANNOTATION_RESTART_SCHEDULED_AT] === plan &&
          vm.metadata.uid === cached.metadata.uid;
        if (applied) change(vm);
        return applied;
      });
      return applied ? written : undefined;
    };
    const report = async (
      vm: VirtualMachine,
      type: EventType,
      reason: string,
      code: number,
      message: string,
      next?: string,
    ): Promise<void> => {
      await event(vm, type, reason, message);
      await recordAudit(store, log, {
        verb: 'scheduled-restart',
        resource: { kind: 'VirtualMachine', namespace: ns, name: vm.metadata.name },
        changes: [
          {
            field: `metadata.annotations[${ANNOTATION_RESTART_SCHEDULED_AT}]`,
            old: plan,
            ...(next !== undefined ? { new: next } : {}),
          },
        ],
        outcome: { code, message },
      });
      log.info({ namespace: ns, vm: vm.metadata.name, planned: plan, next, reason }, message);
    };
    switch (d.kind) {
      case 'none':
        return {};
      case 'stale':
        await updateWithRetry<VirtualMachine>(
          store,
          ref,
          (vm) =>
            vm.metadata.annotations?.[ANNOTATION_RESTART_SCHEDULED_AT] === undefined &&
            removeCondition(conditionsOf(vm), CONDITION_RESTART_SCHEDULED),
        );
        return {};
      case 'wait':
        await updateWithRetry<VirtualMachine>(store, ref, (vm) => {
          if (vm.metadata.annotations?.[ANNOTATION_RESTART_SCHEDULED_AT] !== plan) return false;
          // A message that says more about this same plan (why it was re-planned, that the window was open) stays.
          const shown = conditionsOf(vm).find((x) => x.type === CONDITION_RESTART_SCHEDULED);
          if (shown?.status === 'True' && shown.message?.endsWith(d.message)) return false;
          return setCondition(
            conditionsOf(vm),
            scheduledCondition('True', 'MaintenanceWindow', d.message),
            nowIso,
          );
        });
        return { requeueAfter: d.requeueAfter };
      case 'replan': {
        const next = d.at.toISOString();
        const written = await writePlan((vm) => {
          setPlan(vm, next);
          setCondition(
            conditionsOf(vm),
            scheduledCondition('True', d.missed ? 'WindowMissed' : 'WindowChanged', d.message),
            nowIso,
          );
        });
        if (written)
          await report(
            written,
            d.missed ? 'Warning' : 'Normal',
            d.missed ? 'MaintenanceWindowMissed' : 'RestartRescheduled',
            409,
            d.message,
            next,
          );
        // Decide again on the new plan (it may be due already: a window that is open now).
        return {};
      }
      case 'drop': {
        const written = await writePlan((vm) => {
          setPlan(vm, undefined);
          setCondition(conditionsOf(vm), scheduledCondition('False', d.reason, d.message), nowIso);
        });
        if (written) await report(written, d.eventType, 'ScheduledRestartDropped', 409, d.message);
        return {};
      }
      case 'restart': {
        const instance = vmi?.metadata.uid;
        const written = await writePlan((vm) => {
          setPlan(vm, undefined);
          removeCondition(conditionsOf(vm), CONDITION_RESTART_SCHEDULED);
          // The restart subresource's requests (KubeVirt): stop this instance, then start a new one; the vm controller carries them out.
          const status = vm.status as NonNullable<VirtualMachine['status']>;
          status.stateChangeRequests = [
            ...(status.stateChangeRequests ?? []),
            { action: 'Stop', ...(instance ? { uid: instance } : {}) },
            { action: 'Start' },
          ];
        });
        if (written)
          await report(
            written,
            'Normal',
            'MaintenanceRestart',
            202,
            `${d.message}; stopping instance ${instance ?? '(none)'} and starting a new one`,
          );
        return {};
      }
    }
  }
}
