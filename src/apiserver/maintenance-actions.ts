// Harrow's VM subresources schedule-restart and cancel-restart: record (or drop) a restart planned into the VM's
// maintenance window; the maintenance controller carries it out.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ANNOTATION_RESTART_SCHEDULED_AT,
  ANNOTATION_RESTART_SCHEDULED_INSTANCE,
  CONDITION_RESTART_SCHEDULED,
  appliedWindow,
  planFor,
  plannedMessage,
} from '../maintenance/window.ts';
import { BadRequest } from '../resources/errors.ts';
import { removeCondition, setCondition, type KubeObject } from '../resources/meta.ts';
import type { VirtualMachine, VirtualMachineInstance } from '../resources/types.ts';
import type { ResourceStore } from '../store/types.ts';
import type { AdmissionPlugin } from './admission/types.ts';
import type { Authorize } from './auth.ts';
import { setWarnings } from './resources.ts';
import { vmConflict, vmiRunning } from './vm-actions.ts';
import { commitVmSubresource } from './vm-subresource.ts';

export interface MaintenanceActionDeps {
  store: ResourceStore;
  admission: AdmissionPlugin[];
  authorize: Authorize;
  /** Time source in ms (default Date.now). */
  now?: () => number;
}

export const SCHEDULE_RESTART = 'schedule-restart';
export const CANCEL_RESTART = 'cancel-restart';
export type MaintenanceAction = typeof SCHEDULE_RESTART | typeof CANCEL_RESTART;

/** The VM with a restart planned into its window, or Conflict saying why none can be. */
export function scheduleRestart(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  namespace: KubeObject | undefined,
  nowMs: number,
): VirtualMachine {
  const name = vm.metadata.name;
  const ns = vm.metadata.namespace ?? 'default';
  const applied = appliedWindow(vm, namespace);
  if (!applied) {
    throw vmConflict(
      name,
      `no maintenance window applies: neither the VM nor namespace ${ns} has the harrow.io/maintenance-window annotation (set one with: harrow window set ${name} --schedule '0 2 * * SUN' --duration 2h --time-zone UTC)`,
    );
  }
  if (!vmiRunning(vmi))
    throw vmConflict(
      name,
      'VM is not running: a stopped VM takes its changes when it next starts, there is nothing to restart',
    );
  const at = planFor(applied.window, new Date(nowMs));
  const next = structuredClone(vm);
  next.metadata.annotations = {
    ...(next.metadata.annotations ?? {}),
    [ANNOTATION_RESTART_SCHEDULED_AT]: at.toISOString(),
    ...(vmi?.metadata.uid ? { [ANNOTATION_RESTART_SCHEDULED_INSTANCE]: vmi.metadata.uid } : {}),
  };
  const status = (next.status ??= {});
  setCondition(
    (status.conditions ??= []),
    {
      type: CONDITION_RESTART_SCHEDULED,
      status: 'True',
      reason: 'MaintenanceWindow',
      message: plannedMessage(
        at,
        applied,
        ns,
        at.getTime() === nowMs ? 'the window is open: ' : '',
      ),
    },
    new Date(nowMs).toISOString(),
  );
  return next;
}

/** The VM without its planned restart, or Conflict when none is planned. */
export function cancelRestart(vm: VirtualMachine): VirtualMachine {
  const planned = vm.metadata.annotations?.[ANNOTATION_RESTART_SCHEDULED_AT];
  const condition = vm.status?.conditions?.find(
    (c) => c.type === CONDITION_RESTART_SCHEDULED && c.status === 'True',
  );
  if (planned === undefined && !condition)
    throw vmConflict(vm.metadata.name, 'no restart is scheduled');
  const next = structuredClone(vm);
  if (next.metadata.annotations) {
    delete next.metadata.annotations[ANNOTATION_RESTART_SCHEDULED_AT];
    delete next.metadata.annotations[ANNOTATION_RESTART_SCHEDULED_INSTANCE];
  }
  if (next.status?.conditions) removeCondition(next.status.conditions, CONDITION_RESTART_SCHEDULED);
  return next;
}

type ActionRequest = FastifyRequest<{ Params: { namespace: string; name: string }; Body: unknown }>;

export function registerMaintenanceActions(
  app: FastifyInstance,
  deps: MaintenanceActionDeps,
): void {
  const now = deps.now ?? Date.now;
  for (const action of [SCHEDULE_RESTART, CANCEL_RESTART] as const) {
    app.put(
      `/apis/subresources.harrow.io/v1/namespaces/:namespace/virtualmachines/:name/${action}`,
      { config: { harrow: { kind: 'VirtualMachine', verb: action, audited: true } } },
      async (request: ActionRequest, reply) => {
        const result = await commitVmSubresource(deps, request, {
          group: 'subresources.harrow.io',
          action,
          code: 200,
          bodyDryRun: () => {
            const body = request.body;
            if (
              body !== undefined &&
              body !== null &&
              body !== '' &&
              (typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length > 0)
            ) {
              throw new BadRequest(
                `${action}: the body must be empty or {} (the window comes from the VM's or its namespace's annotation)`,
              );
            }
            return false;
          },
          decide: async (vm, vmi) =>
            action === SCHEDULE_RESTART
              ? scheduleRestart(
                  vm,
                  vmi,
                  await deps.store.get({ kind: 'Namespace', name: request.params.namespace }),
                  now(),
                )
              : cancelRestart(vm),
        });
        setWarnings(reply, result.warnings);
        return result.object;
      },
    );
  }
}
