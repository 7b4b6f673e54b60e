// KubeVirt's VM subresources start/stop/restart: runStrategy or stateChangeRequests changes that the vm controller carries out.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequest, Conflict } from '../resources/errors.ts';
import type {
  RunStrategy,
  StateChangeRequest,
  VirtualMachine,
  VirtualMachineInstance,
} from '../resources/types.ts';
import type { ResourceStore } from '../store/types.ts';
import type { AdmissionPlugin } from './admission/types.ts';
import type { Authorize } from './auth.ts';
import { dryRunOf, setWarnings } from './resources.ts';
import { commitVmSubresource } from './vm-subresource.ts';

export type VmAction = 'start' | 'stop' | 'restart';

/** The VM's run strategy; legacy `spec.running` maps to Always / Halted, as KubeVirt does. */
export function runStrategyOf(vm: VirtualMachine): RunStrategy {
  if (vm.spec.runStrategy !== undefined) return vm.spec.runStrategy;
  return vm.spec.running === true ? 'Always' : 'Halted';
}

/** KubeVirt counts a VMI as running unless it is absent, final, or has no (or an Unknown) phase yet. */
export function vmiRunning(vmi: VirtualMachineInstance | undefined): boolean {
  const phase = vmi?.status?.phase;
  return (
    vmi !== undefined &&
    phase !== undefined &&
    phase !== 'Unknown' &&
    phase !== 'Succeeded' &&
    phase !== 'Failed'
  );
}

/** The 409 a VM subresource answers when it does not apply to the VM as it is (KubeVirt's wording). */
export const vmConflict = (name: string, why: string): Conflict =>
  new Conflict(`Operation cannot be fulfilled on virtualmachine.kubevirt.io "${name}": ${why}`, {
    name,
    group: 'kubevirt.io',
    kind: 'virtualmachine',
  });
const conflict = (vm: VirtualMachine, why: string): Conflict => vmConflict(vm.metadata.name, why);

function withRunning(vm: VirtualMachine, running: boolean): VirtualMachine {
  const next = structuredClone(vm);
  // Keep the VM in the form it was written in: a runStrategy VM gets a runStrategy, a legacy one `running`.
  if (next.spec.runStrategy !== undefined || next.spec.running === undefined)
    next.spec.runStrategy = running ? 'Always' : 'Halted';
  else next.spec.running = running;
  return next;
}

function withRequests(vm: VirtualMachine, requests: StateChangeRequest[]): VirtualMachine {
  const next = structuredClone(vm);
  next.status = { ...(next.status ?? {}) };
  next.status.stateChangeRequests = [...(next.status.stateChangeRequests ?? []), ...requests];
  return next;
}

/** The VM after the action, or a Conflict saying why the action does not apply (KubeVirt's rules and wording). */
export function applyVmAction(
  action: VmAction,
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
): VirtualMachine {
  const strategy = runStrategyOf(vm);
  const running = vmiRunning(vmi);
  const stopCurrent = (): StateChangeRequest => ({
    action: 'Stop',
    ...(vmi?.metadata.uid ? { uid: vmi.metadata.uid } : {}),
  });
  switch (action) {
    case 'start':
      if (running) throw conflict(vm, 'VM is already running');
      switch (strategy) {
        case 'Halted':
          return withRunning(vm, true);
        case 'Manual':
          // A finished VMI is still there: it has to go before a new one can start.
          return withRequests(
            vm,
            vmi ? [stopCurrent(), { action: 'Start' }] : [{ action: 'Start' }],
          );
        case 'RerunOnFailure':
          if (vmi?.status?.phase === 'Failed')
            throw conflict(vm, 'RerunOnFailure does not support starting VM from failed state');
          return withRequests(
            vm,
            vmi ? [stopCurrent(), { action: 'Start' }] : [{ action: 'Start' }],
          );
        case 'Always':
        case 'Once':
          throw conflict(vm, `${strategy} does not support manual start requests`);
      }
      break;
    case 'stop':
      switch (strategy) {
        case 'Always':
        case 'RerunOnFailure':
        case 'Once':
          return withRunning(vm, false);
        case 'Manual':
        case 'Halted':
          if (!running) throw conflict(vm, 'VM is not running');
          return withRequests(vm, [stopCurrent()]);
      }
      break;
    case 'restart':
      if (strategy === 'Halted')
        throw conflict(vm, 'Halted does not support manual restart requests');
      if (!running) throw conflict(vm, 'VM is not running');
      return withRequests(vm, [stopCurrent(), { action: 'Start' }]);
  }
  throw new BadRequest(`unknown run strategy ${JSON.stringify(strategy)}`);
}

export interface VmActionDeps {
  store: ResourceStore;
  admission: AdmissionPlugin[];
  authorize: Authorize;
}

type ActionRequest = FastifyRequest<{
  Params: { namespace: string; name: string };
  Querystring: { dryRun?: string };
  Body: unknown;
}>;

/** KubeVirt's StartOptions/StopOptions/RestartOptions carry `dryRun: ["All"]`; the rest of them Harrow does not use. */
function bodyDryRun(body: unknown): boolean {
  if (body === undefined || body === null || body === '') return false;
  if (typeof body !== 'object' || Array.isArray(body))
    throw new BadRequest(
      'the body must be empty or a JSON object (KubeVirt start/stop/restart options)',
    );
  const dryRun = (body as { dryRun?: unknown }).dryRun;
  if (dryRun === undefined || dryRun === null) return false;
  if (!Array.isArray(dryRun)) throw new BadRequest('dryRun must be a list, e.g. ["All"]');
  return dryRun.map((d) => dryRunOf(String(d))).some(Boolean);
}

export function registerVmActions(app: FastifyInstance, deps: VmActionDeps): void {
  for (const action of ['start', 'stop', 'restart'] as const) {
    app.put(
      `/apis/subresources.kubevirt.io/v1/namespaces/:namespace/virtualmachines/:name/${action}`,
      { config: { harrow: { kind: 'VirtualMachine', verb: action, audited: true } } },
      async (request: ActionRequest, reply: FastifyReply) => {
        const result = await commitVmSubresource(deps, request, {
          group: 'subresources.kubevirt.io',
          action,
          code: 202,
          bodyDryRun: () => bodyDryRun(request.body),
          decide: (vm, vmi) => applyVmAction(action, vm, vmi),
        });
        setWarnings(reply, result.warnings);
        // KubeVirt answers 202 Accepted with an empty body: the vm controller carries the action out.
        return reply.code(202).send();
      },
    );
  }
}
