// The clone controller (KubeVirt's clone role): VirtualMachineClone → a new VM from the source's spec, with no MAC carried
// over; the VM is created through the same admission as any user's VM, so its MACs come from the pool and are reserved.
import { HarrowError } from '../resources/errors.ts';
import { setCondition, type Condition } from '../resources/meta.ts';
import type { VirtualMachine } from '../resources/types.ts';
import { interfacesOf, macField, templateSpecOf } from '../resources/virtualmachine.ts';
import {
  ANNOTATION_CLONED_BY,
  cloneVirtualMachine,
  type ClonePhase,
  type VirtualMachineClone,
} from '../resources/virtualmachineclone.ts';
import { recordAudit } from './audit.ts';
import { CONTROLLER_USER, type ControllerContext } from './context.ts';
import { eventRecorder } from './events.ts';
import { changed, objectKey, refFor, type Controller, type Result } from './framework.ts';
import { updateWithRetry } from './optimistic-update.ts';

/** Creates a VM the way the apiserver does for a user: validation, MAC allocation and reservation, audit, one commit. */
export interface VmCreator {
  create(vm: VirtualMachine, user: string): Promise<{ vm: VirtualMachine; warnings: string[] }>;
}

export const CLONE_CONTROLLER_USER = `${CONTROLLER_USER}:clone`;
const INDEX_SOURCE = 'source';
// A clone waiting for its source also looks again this often (VM events normally wake it at once).
const SOURCE_POLL_MS = 30_000;

const sourceKeyOf = (c: VirtualMachineClone): string[] =>
  c.spec?.source?.name ? [`${c.metadata.namespace ?? 'default'}/${c.spec.source.name}`] : [];

const finished = (c: VirtualMachineClone): boolean =>
  c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed';

/** The target VM's MACs, `interface=mac`, for messages and the audit record. */
export const macsOf = (vm: VirtualMachine): string[] =>
  interfacesOf(templateSpecOf(vm)).map((i) => `${i.name}=${i.macAddress ?? '(assigned at start)'}`);

export function cloneController(ctx: ControllerContext, creator: VmCreator): Controller {
  const { store } = ctx;
  const log = ctx.logger.child({ controller: 'clone' });
  const event = eventRecorder(store, log, { component: 'virt-controller', host: ctx.nodeName });
  const clones = ctx.manager.informer<VirtualMachineClone>('VirtualMachineClone');
  clones.addIndex(INDEX_SOURCE, sourceKeyOf);
  const c = ctx.manager.controller({ name: 'clone', reconcile, concurrency: ctx.concurrency });
  clones.onEvent((e) => {
    if (e.type !== 'DELETED' && changed(e, (o) => `${o.metadata.uid}|${o.status?.phase ?? ''}`))
      c.enqueue(objectKey(e.object));
  });
  // A clone waiting for its source goes on when the source appears.
  ctx.informers.vms.onEvent((e) => {
    if (e.type !== 'ADDED') return;
    for (const clone of clones.byIndex(INDEX_SOURCE, objectKey(e.object)))
      if (!finished(clone)) c.enqueue(objectKey(clone));
  });
  return c;

  async function setStatus(
    clone: VirtualMachineClone,
    phase: ClonePhase,
    conditions: Condition[],
    extra: { targetName?: string } = {},
  ): Promise<VirtualMachineClone | undefined> {
    const nowIso = new Date(ctx.now()).toISOString();
    return updateWithRetry<VirtualMachineClone>(
      store,
      {
        kind: 'VirtualMachineClone',
        namespace: clone.metadata.namespace ?? 'default',
        name: clone.metadata.name,
      },
      (o) => {
        const status = (o.status ??= {});
        const before = JSON.stringify(status);
        status.phase = phase;
        if (extra.targetName !== undefined) status.targetName = extra.targetName;
        if (phase === 'Succeeded') status.creationTime ??= nowIso;
        const conds = (status.conditions ??= []);
        for (const cond of conditions) setCondition(conds, cond, nowIso);
        return JSON.stringify(status) !== before;
      },
      { expectUid: clone.metadata.uid ?? '' },
    );
  }

  async function fail(
    clone: VirtualMachineClone,
    reason: string,
    message: string,
    code: number,
  ): Promise<Result> {
    await setStatus(clone, 'Failed', [
      { type: 'Ready', status: 'False', reason, message },
      { type: 'Progressing', status: 'False', reason, message },
    ]);
    await event(clone, 'Warning', reason, message);
    await recordAudit(store, log, {
      user: CLONE_CONTROLLER_USER,
      verb: 'clone',
      resource: {
        kind: 'VirtualMachineClone',
        namespace: clone.metadata.namespace ?? 'default',
        name: clone.metadata.name,
      },
      outcome: { code, message },
    });
    log.info({ clone: objectKey(clone), reason, message }, 'clone failed');
    return {};
  }

  async function succeed(
    clone: VirtualMachineClone,
    target: VirtualMachine,
    dropped: string[],
    warnings: string[],
  ): Promise<Result> {
    const macs = macsOf(target);
    const message = `created VirtualMachine ${target.metadata.name} from ${clone.spec.source.name} with MACs ${macs.join(', ') || '(no interfaces)'}`;
    await setStatus(
      clone,
      'Succeeded',
      [
        { type: 'Ready', status: 'True', reason: 'Succeeded', message },
        { type: 'Progressing', status: 'False', reason: 'Succeeded', message },
      ],
      { targetName: target.metadata.name },
    );
    await event(clone, 'Normal', 'CloneSucceeded', message);
    await recordAudit(store, log, {
      user: CLONE_CONTROLLER_USER,
      verb: 'clone',
      resource: {
        kind: 'VirtualMachineClone',
        namespace: clone.metadata.namespace ?? 'default',
        name: clone.metadata.name,
      },
      changes: [
        ...interfacesOf(templateSpecOf(target)).map((i, idx) => ({
          field: `${target.metadata.name}: ${macField(idx)}`,
          new: i.macAddress,
        })),
        ...dropped.map((d) => ({
          field: `${clone.spec.source.name}: ${d}`,
          old: 'not carried over',
        })),
      ],
      outcome: { code: 201, message: [message, ...warnings].join('; ') },
    });
    log.info({ clone: objectKey(clone), target: target.metadata.name, macs }, 'clone succeeded');
    return {};
  }

  async function reconcile(key: string): Promise<Result> {
    const clone = (await store.get(refFor('VirtualMachineClone', key))) as
      VirtualMachineClone | undefined;
    if (!clone || finished(clone) || clone.metadata.deletionTimestamp) return {};
    const namespace = clone.metadata.namespace ?? 'default';
    const targetName = clone.spec.target?.name ?? '';
    if (targetName === '')
      return fail(
        clone,
        'TargetNameMissing',
        'spec.target.name is empty (admission names the target)',
        422,
      );
    const existing = (await store.get({ kind: 'VirtualMachine', namespace, name: targetName })) as
      VirtualMachine | undefined;
    if (existing) {
      // Ours from an earlier attempt that stopped before the status write: finish it; anyone else's is not overwritten.
      if (existing.metadata.annotations?.[ANNOTATION_CLONED_BY] === clone.metadata.uid)
        return succeed(clone, existing, [], []);
      return fail(
        clone,
        'TargetExists',
        `VirtualMachine ${namespace}/${targetName} already exists and was not created by this clone`,
        409,
      );
    }
    const source = (await store.get({
      kind: 'VirtualMachine',
      namespace,
      name: clone.spec.source.name,
    })) as VirtualMachine | undefined;
    if (!source) {
      const message = `source VirtualMachine ${namespace}/${clone.spec.source.name} does not exist: waiting for it`;
      if (
        clone.status?.conditions?.find((x) => x.type === 'Progressing')?.reason !==
        'SourceDoesNotExist'
      ) {
        await setStatus(clone, '', [
          { type: 'Ready', status: 'False', reason: 'SourceDoesNotExist', message },
          { type: 'Progressing', status: 'False', reason: 'SourceDoesNotExist', message },
        ]);
        await event(clone, 'Normal', 'SourceDoesNotExist', message);
      }
      return { requeueAfter: SOURCE_POLL_MS };
    }
    // Admission checks this when the source exists then; a source made later is checked here.
    const names = interfacesOf(templateSpecOf(source)).map((i) => i.name);
    const unknown = Object.keys(clone.spec.newMacAddresses ?? {}).filter((n) => !names.includes(n));
    if (unknown.length > 0) {
      return fail(
        clone,
        'InterfaceNotFound',
        `spec.newMacAddresses names ${unknown.map((n) => JSON.stringify(n)).join(', ')}, but ${source.metadata.name} has no such interface (its interfaces: ${names.join(', ') || 'none'})`,
        422,
      );
    }
    const plan = cloneVirtualMachine(source, clone, targetName);
    const progressing = `creating VirtualMachine ${targetName} from ${source.metadata.name}`;
    const current = await setStatus(clone, 'CreatingTargetVM', [
      { type: 'Ready', status: 'False', reason: 'CreatingTargetVM', message: progressing },
      { type: 'Progressing', status: 'True', reason: 'CreatingTargetVM', message: progressing },
    ]);
    if (!current) return {};
    let created: { vm: VirtualMachine; warnings: string[] };
    try {
      created = await creator.create(plan.vm, CLONE_CONTROLLER_USER);
    } catch (e) {
      // A rejection by admission (a MAC another VM holds, an exhausted pool, an invalid manifest) is final, as for a user.
      if (e instanceof HarrowError && e.reason !== 'AlreadyExists' && e.code < 500) {
        const causes = e.details.causes?.map((x) => `${x.field}: ${x.message}`).join('; ');
        return fail(
          current,
          e.reason === 'Conflict' ? 'MACConflict' : 'TargetRejected',
          `creating VirtualMachine ${targetName} was refused: ${causes || e.message}`,
          e.code,
        );
      }
      if (e instanceof HarrowError && e.reason === 'AlreadyExists') return reconcile(key);
      throw e;
    }
    await event(
      created.vm,
      'Normal',
      'Cloned',
      `cloned from VirtualMachine ${source.metadata.name} by VirtualMachineClone ${clone.metadata.name}; MACs ${macsOf(created.vm).join(', ')}`,
    );
    return succeed(current, created.vm, plan.dropped, created.warnings);
  }
}
