// One write path for VM subresources (start/stop/restart, schedule-restart, cancel-restart): authorize, decide on the
// stored VM and its VMI, commit through admission; when a controller's status write races the commit, decide again.
import type { FastifyRequest } from 'fastify';
import { Forbidden, HarrowError } from '../resources/errors.ts';
import { kindInfo } from '../resources/kinds.ts';
import type { VirtualMachine, VirtualMachineInstance } from '../resources/types.ts';
import type { Authorize } from './auth.ts';
import { requestContext, requestUser } from './request-context.ts';
import { admitAndCommit, notFound, type WriteDeps, type WriteResult } from './writes.ts';

export interface VmSubresourceDeps extends WriteDeps {
  authorize: Authorize;
}

export interface VmSubresourceWrite {
  /** The API group the subresource is served in (for the Forbidden answer). */
  group: string;
  action: string;
  /** The HTTP code of a success, recorded in the audit record. */
  code: number;
  /** Whether the body asks for a dry run; read after authorization (an unauthorized caller learns nothing of its body). */
  bodyDryRun?: () => boolean;
  /** The VM after the action, or a HarrowError (Conflict, …) saying why the action does not apply. */
  decide(
    vm: VirtualMachine,
    vmi: VirtualMachineInstance | undefined,
  ): VirtualMachine | Promise<VirtualMachine>;
}

type VmRequest = FastifyRequest<{ Params: { namespace: string; name: string } }>;

const ATTEMPTS = 5;

export async function commitVmSubresource(
  deps: VmSubresourceDeps,
  request: VmRequest,
  w: VmSubresourceWrite,
): Promise<WriteResult> {
  const { namespace, name } = request.params;
  const user = requestUser(request);
  if (!deps.authorize(user, w.action, 'VirtualMachine', namespace, name)) {
    throw new Forbidden(
      `virtualmachines.kubevirt.io "${name}" is forbidden: User "${user.name}" cannot ${w.action} virtual machines in the namespace "${namespace}"`,
      {
        name,
        group: w.group,
        kind: `virtualmachines/${w.action}`,
      },
    );
  }
  const context = requestContext(request);
  context.dryRun = context.dryRun || (w.bodyDryRun?.() ?? false);
  const vmInfo = kindInfo('VirtualMachine');
  for (let attempt = 1; ; attempt++) {
    const vm = (await deps.store.get({ kind: 'VirtualMachine', namespace, name })) as
      VirtualMachine | undefined;
    if (!vm) throw notFound(vmInfo, name);
    const vmi = (await deps.store.get({ kind: 'VirtualMachineInstance', namespace, name })) as
      VirtualMachineInstance | undefined;
    const next = await w.decide(vm, vmi);
    try {
      return await admitAndCommit(deps, {
        info: vmInfo,
        operation: 'update',
        object: next,
        oldObject: vm,
        user,
        dryRun: context.dryRun,
        verb: w.action,
        subresource: w.action,
        code: w.code,
      });
    } catch (e) {
      // A controller's status write raced us: decide again on the fresh VM rather than fail the user's click. A
      // Conflict with causes is admission's answer (a MAC held elsewhere), not a race.
      if (
        !(e instanceof HarrowError) ||
        e.reason !== 'Conflict' ||
        e.details.causes !== undefined ||
        attempt >= ATTEMPTS
      )
        throw e;
      const fresh = await deps.store.get({ kind: 'VirtualMachine', namespace, name });
      if (fresh?.metadata.resourceVersion === vm.metadata.resourceVersion) throw e;
    }
  }
}
