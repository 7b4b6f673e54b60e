// The vmi controller (virt-controller's VMI part): one launcher Pod per live VMI on the node the scheduler picks;
// pods of gone VMIs are deleted.
import { AlreadyExists } from '../resources/errors.ts';
import { refOf, removeCondition, setCondition } from '../resources/meta.ts';
import { LABEL_CREATED_BY, type Pod, type VirtualMachineInstance } from '../resources/types.ts';
import { isFinished } from '../resources/vmi.ts';
import { INDEX_CREATED_BY, INDEX_VM, vmKeyOfPod, type ControllerContext } from './context.ts';
import { eventRecorder } from './events.ts';
import { changed, objectKey, refFor, type Controller, type Result } from './framework.ts';
import { launcherPod } from './launcher-pod.ts';
import { deleteIfExists, updateWithRetry } from './optimistic-update.ts';
import type { Scheduler } from './scheduler.ts';

/** How soon a VMI no node had room for is tried again. */
const NO_NODE_RETRY_MS = 2000;
/** The VMI condition that says why it has no node yet (KubeVirt copies the pod's PodScheduled). */
export const CONDITION_POD_SCHEDULED = 'PodScheduled';

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
    const placement = vmi.status?.nodeName
      ? { node: vmi.status.nodeName }
      : scheduler
        ? scheduler.pick(vmi)
        : { node: ctx.nodeName };
    if (placement.node === undefined) {
      // As kube-scheduler marks an unschedulable pod: PodScheduled=False with the reason, once per change.
      let changedNow = false;
      await updateWithRetry<VirtualMachineInstance>(
        store,
        refOf(vmi),
        (o) =>
          (changedNow = setCondition(
            ((o.status ??= {}).conditions ??= []),
            {
              type: CONDITION_POD_SCHEDULED,
              status: 'False',
              reason: placement.reason,
              message: placement.message,
            },
            new Date(ctx.now()).toISOString(),
          )),
        { expectUid: uid },
      );
      if (changedNow) await event(vmi, 'Warning', 'FailedScheduling', placement.message);
      return { requeueAfter: NO_NODE_RETRY_MS };
    }
    let node = placement.node;
    // The node goes on the VMI first: its node's agent sees the VMI (and then the pod) only once it is named there.
    if (vmi.status?.nodeName !== node) {
      const named = await updateWithRetry<VirtualMachineInstance>(
        store,
        refOf(vmi),
        (o) => {
          if ((o.status ??= {}).nodeName) return false;
          o.status.nodeName = node;
          removeCondition(o.status.conditions ?? [], CONDITION_POD_SCHEDULED);
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
