// The launcher (virt-handler / virt-launcher role): starts the guest of a VMI once its pod's networks exist, giving each
// NIC the MAC KubeVirt's precedence picks; tracks the guest into the VMI phase; stops guests of gone VMIs; after a
// restart of Harrow adopts running guests that still have a VMI and stops the others.
import { refOf, setCondition } from '../resources/meta.ts';
import {
  ANNOTATION_NETWORK_STATUS,
  LABEL_CREATED_BY,
  PERSISTENT_VOLUME_CLAIM,
  type PersistentVolumeClaim,
  type Pod,
  type VirtualMachineInstance,
  type VMIPhase,
} from '../resources/types.ts';
import { guestCpus, guestMemoryMiB, isFinished } from '../resources/vmi.ts';
import type { GuestNic, GuestObservation, GuestSpec } from '../runtime/types.ts';
import { INDEX_CREATED_BY, INDEX_UID, vmKeyOfPod, type ControllerContext } from './context.ts';
import { eventRecorder } from './events.ts';
import {
  Tombstones,
  changed,
  objectKey,
  refFor,
  type Controller,
  type Result,
} from './framework.ts';
import { interfacePlans } from '../network/interface-plans.ts';
import { assignedMac } from '../network/mac-precedence.ts';
import { networkStatusOf, podInterfaceMac } from '../network/multus.ts';
import { interfaceStatuses } from '../network/net-status.ts';
import { resolveNetwork } from './nad-resolver.ts';
import {
  claimNameOf,
  planGuestDisks,
  storeClaimResolver,
  type UnresolvedVolume,
} from './guest-disks.ts';
import { ANNOTATION_SELECTED_NODE } from '../resources/datavolume.ts';
import { updateWithRetry } from './optimistic-update.ts';

/** How often a VMI waiting for an image looks again (an import needs no event to be noticed). */
const VOLUME_RETRY_MS = 5_000;
/** The VMI condition saying why its volumes are not ready (reason ImageNotFound names the image and the remedy). */
export const CONDITION_VOLUMES_READY = 'VolumesReady';

export function launcherController(ctx: ControllerContext): Controller {
  const { store, runtime, informers } = ctx;
  const log = ctx.logger.child({ controller: 'launcher' });
  const event = eventRecorder(store, log, { component: 'virt-handler', host: ctx.nodeName });
  const deleted = new Tombstones<VirtualMachineInstance>();
  const c = ctx.manager.controller({
    name: 'launcher',
    reconcile,
    concurrency: ctx.concurrency,
    onStart: adoptOrStop,
  });
  informers.vmis.onEvent((e) => {
    if (e.type === 'DELETED') deleted.add(e.object);
    if (
      changed(
        e,
        (o) => `${o.metadata.uid}|${o.status?.phase}|${o.metadata.deletionTimestamp ?? ''}`,
      )
    )
      c.enqueue(objectKey(e.object));
  });
  // The pod matters when its networks are ready (network-status written) and when it goes.
  informers.pods.onEvent((e) => {
    const k = vmKeyOfPod(e.object);
    if (k && changed(e, (p) => p.metadata.annotations?.[ANNOTATION_NETWORK_STATUS] ?? ''))
      c.enqueue(k);
  });
  // A VMI waiting for its disk starts when the claim is bound, and says why while it cannot be filled.
  ctx.manager.informer<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM).onEvent((e) => {
    if (e.type === 'DELETED' || !changed(e, (o) => JSON.stringify(o.status ?? {}))) return;
    const namespace = e.object.metadata.namespace ?? 'default';
    for (const vmi of informers.vmis.values())
      if (
        (vmi.metadata.namespace ?? 'default') === namespace &&
        (vmi.spec.volumes ?? []).some((v) => claimNameOf(v) === e.object.metadata.name)
      )
        c.enqueue(objectKey(vmi));
  });
  return c;

  async function reconcile(key: string): Promise<Result> {
    for (const gone of deleted.get(key)) {
      await runtime.stopGuest(gone.metadata.uid ?? '');
      log.info(
        { namespace: gone.metadata.namespace, vmi: gone.metadata.name, uid: gone.metadata.uid },
        'VMI deleted: guest stopped',
      );
      deleted.done(key, gone.metadata.uid);
    }
    let vmi = (await store.get(refFor('VirtualMachineInstance', key))) as
      VirtualMachineInstance | undefined;
    if (!vmi?.metadata.uid) return {};
    const uid = vmi.metadata.uid;
    if (vmi.metadata.deletionTimestamp !== undefined) {
      await runtime.stopGuest(uid);
      return {};
    }
    if (isFinished(vmi)) return {};
    const phase = vmi.status?.phase;
    const observed = await runtime.observe(uid);
    if (observed) {
      if (observed.state === 'Failed') {
        await setPhase(vmi, 'Failed', observed.reason ?? 'the guest failed');
        await event(
          vmi,
          'Warning',
          'Failed',
          `The VirtualMachineInstance crashed: ${observed.reason ?? 'unknown reason'}`,
        );
        return {};
      }
      if (observed.state === 'Stopped') {
        // Stopped while its VMI lives: the guest shut itself down (we only stop guests of deleted VMIs).
        await setPhase(vmi, 'Succeeded', observed.reason ?? 'the guest shut down');
        await event(vmi, 'Normal', 'Stopped', 'The VirtualMachineInstance was shut down.');
        return {};
      }
      if (phase !== 'Running') {
        await setPhase(vmi, 'Running', undefined, observed);
        await event(vmi, 'Normal', 'Started', 'VirtualMachineInstance started.');
      }
      return {};
    }
    if (phase === 'Running') {
      await setPhase(
        vmi,
        'Failed',
        'the guest is gone from the runtime (the host or Harrow restarted)',
      );
      await event(
        vmi,
        'Warning',
        'Failed',
        'The guest of this VirtualMachineInstance is gone from the runtime',
      );
      return {};
    }
    const pod = podOf(uid);
    const netStatus = networkStatusOf(pod);
    if (!pod || !netStatus) return {}; // the network plugin writes network-status; the pod event brings us back
    await bindClaims(vmi);
    // The NICs first: a network-config Harrow generates matches each by the MAC the guest gets.
    const spec = await guestSpec(vmi, pod);
    const disks = await planGuestDisks(
      vmi,
      ctx.images,
      storeClaimResolver(store, ctx.nodeName),
      spec.nics,
    );
    if (!disks.ok) {
      await setVolumesPending(vmi, disks.problems);
      return { requeueAfter: VOLUME_RETRY_MS };
    }
    if (disks.disks.length > 0) spec.disks = disks.disks;
    if (disks.boot) spec.boot = disks.boot;
    if (phase !== 'Scheduled') vmi = (await setPhase(vmi, 'Scheduled')) ?? vmi;
    try {
      await runtime.startGuest(spec);
    } catch (e) {
      await event(
        vmi,
        'Warning',
        'SyncFailed',
        `starting the guest failed: ${e instanceof Error ? e.message : String(e)}`,
      );
      throw e;
    }
    log.info(
      {
        namespace: vmi.metadata.namespace,
        vm: vmi.metadata.name,
        nics: spec.nics.map((n) => `${n.name}=${n.mac}`),
      },
      'guest started',
    );
    // The first interface status goes with the phase (one write instead of two); the observer keeps it current.
    await setPhase(vmi, 'Running', undefined, await runtime.observe(uid));
    await event(vmi, 'Normal', 'Started', 'VirtualMachineInstance started.');
    return {};
  }

  /**
   * A claim this VMI uses that has no disk yet gets this node (Kubernetes' WaitForFirstConsumer: the volume is made
   * where its first consumer runs); the volumes controller here then makes the disk.
   */
  async function bindClaims(vmi: VirtualMachineInstance): Promise<void> {
    const namespace = vmi.metadata.namespace ?? 'default';
    for (const volume of vmi.spec.volumes ?? []) {
      const name = claimNameOf(volume);
      if (!name) continue;
      await updateWithRetry<PersistentVolumeClaim>(
        store,
        { kind: PERSISTENT_VOLUME_CLAIM, namespace, name },
        (claim) => {
          const annotations = (claim.metadata.annotations ??= {});
          if (claim.status?.phase === 'Bound' || annotations[ANNOTATION_SELECTED_NODE])
            return false;
          annotations[ANNOTATION_SELECTED_NODE] = ctx.nodeName;
          return true;
        },
      );
    }
  }

  function podOf(vmiUid: string): Pod | undefined {
    return informers.pods
      .byIndex(INDEX_CREATED_BY, vmiUid)
      .find((p) => p.metadata.labels?.[LABEL_CREATED_BY] === vmiUid);
  }

  async function guestSpec(vmi: VirtualMachineInstance, pod: Pod): Promise<GuestSpec> {
    const namespace = vmi.metadata.namespace ?? 'default';
    const status = networkStatusOf(pod);
    const nics: GuestNic[] = [];
    for (const plan of interfacePlans(vmi.spec, namespace)) {
      const mac = assignedMac({
        spec: plan.iface.macAddress,
        podStatus: podInterfaceMac(status, plan.podInterfaceName),
      });
      if (!mac)
        throw new Error(
          `interface ${plan.iface.name}: no MAC in the spec and none on pod interface ${plan.podInterfaceName}`,
        );
      const network = await resolveNetwork(store, plan.network, namespace);
      nics.push({
        name: plan.iface.name,
        mac,
        podInterfaceName: plan.podInterfaceName,
        networkId: network.id,
      });
    }
    return {
      vmiUid: vmi.metadata.uid ?? '',
      podUid: pod.metadata.uid ?? '',
      namespace,
      name: vmi.metadata.name,
      cpus: guestCpus(vmi.spec),
      memoryMiB: guestMemoryMiB(vmi.spec),
      nics,
    };
  }

  /** The VMI waits for its volumes: a condition naming each problem (and an event the first time). */
  async function setVolumesPending(
    vmi: VirtualMachineInstance,
    problems: UnresolvedVolume[],
  ): Promise<void> {
    const nowIso = new Date(ctx.now()).toISOString();
    const message = problems.map((p) => p.message).join('; ');
    const reason = problems[0]?.reason ?? 'ImageNotFound';
    const before = vmi.status?.conditions?.find((c) => c.type === CONDITION_VOLUMES_READY);
    if (before?.status === 'False' && before.message === message) return;
    await updateWithRetry<VirtualMachineInstance>(
      store,
      refOf(vmi),
      (o) => {
        const conditions = ((o.status ??= {}).conditions ??= []);
        setCondition(
          conditions,
          { type: CONDITION_VOLUMES_READY, status: 'False', reason, message },
          nowIso,
        );
        return true;
      },
      { expectUid: vmi.metadata.uid ?? '', current: vmi },
    );
    await event(vmi, 'Warning', reason, message);
  }

  /** Writes the phase (and what goes with it); `vmi` is a copy the caller gives away. Returns the written VMI. */
  async function setPhase(
    vmi: VirtualMachineInstance,
    phase: VMIPhase,
    reason?: string,
    observed?: GuestObservation,
  ): Promise<VirtualMachineInstance | undefined> {
    const nowIso = new Date(ctx.now()).toISOString();
    return updateWithRetry<VirtualMachineInstance>(
      store,
      refOf(vmi),
      (o) => {
        const status = (o.status ??= {});
        const before = JSON.stringify(status);
        status.phase = phase;
        const conditions = (status.conditions ??= []);
        if (phase === 'Running') {
          status.nodeName = ctx.nodeName;
          if (conditions.some((c) => c.type === CONDITION_VOLUMES_READY))
            setCondition(conditions, { type: CONDITION_VOLUMES_READY, status: 'True' }, nowIso);
          const pod = podOf(o.metadata.uid ?? '');
          if (pod?.metadata.uid) status.activePods = { [pod.metadata.uid]: ctx.nodeName };
          if (observed) status.interfaces = interfaceStatuses(o, networkStatusOf(pod), observed);
          setCondition(conditions, { type: 'Ready', status: 'True' }, nowIso);
        } else if (phase === 'Scheduled') {
          status.nodeName = ctx.nodeName;
          setCondition(
            conditions,
            {
              type: 'Ready',
              status: 'False',
              reason: 'GuestNotRunning',
              message: 'the guest is starting',
            },
            nowIso,
          );
        } else {
          setCondition(
            conditions,
            {
              type: 'Ready',
              status: 'False',
              reason: phase === 'Failed' ? 'GuestFailed' : 'GuestStopped',
              ...(reason ? { message: reason } : {}),
            },
            nowIso,
          );
          if (reason) status.reason = reason;
        }
        return JSON.stringify(status) !== before;
      },
      { expectUid: vmi.metadata.uid ?? '', current: vmi },
    );
  }

  /** After a restart of Harrow: a running guest with a VMI is adopted (reconciled), one without is stopped. */
  async function adoptOrStop(): Promise<void> {
    const inventory = await runtime.inventory();
    for (const uid of inventory.guests) {
      const vmi = informers.vmis.byIndex(INDEX_UID, uid)[0];
      if (vmi && !isFinished(vmi)) {
        c.enqueue(objectKey(vmi));
        continue;
      }
      if (vmi) continue; // a finished VMI keeps its dead guest's record until it is deleted
      await runtime.stopGuest(uid);
      log.info({ vmiUid: uid }, 'orphan guest stopped: no VMI has its uid');
    }
  }
}
