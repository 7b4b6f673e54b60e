// The volumes controller (a node-local provisioner's role): fills each claim bound to this node with its disk — blank,
// a copy of a store image, or a copy of another claim's disk — and marks it Bound; deletes the disk of a deleted claim,
// and at start the disks of claims that no longer exist.
import type { ImageBoot } from '../images/store.ts';
import {
  ANNOTATION_SELECTED_NODE,
  formatBytes,
  populationOf,
  requestedBytes,
} from '../resources/datavolume.ts';
import { refOf, setCondition } from '../resources/meta.ts';
import { PERSISTENT_VOLUME_CLAIM, type PersistentVolumeClaim } from '../resources/types.ts';
import type { PersistentDiskContent } from '../runtime/types.ts';
import type { ControllerContext } from './context.ts';
import { CONDITION_POPULATED } from './datavolumes.ts';
import { ANNOTATION_DISK_BOOT } from './guest-disks.ts';
import { eventRecorder } from './events.ts';
import {
  Tombstones,
  changed,
  objectKey,
  refFor,
  type Controller,
  type Result,
} from './framework.ts';
import { updateWithRetry } from './optimistic-update.ts';

/** How often a claim that cannot be filled yet (image not imported, source not ready) looks again. */
const RETRY_MS = 5_000;

export function volumesController(ctx: ControllerContext): Controller {
  const { store, runtime } = ctx;
  const log = ctx.logger.child({ controller: 'volumes' });
  const event = eventRecorder(store, log, { component: 'harrow-provisioner', host: ctx.nodeName });
  const claims = ctx.manager.informer<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM);
  const deleted = new Tombstones<PersistentVolumeClaim>();
  const c = ctx.manager.controller({
    name: 'volumes',
    reconcile,
    concurrency: ctx.concurrency,
    onStart: removeOrphanDisks,
  });
  claims.onEvent((e) => {
    if (e.type === 'DELETED') deleted.add(e.object);
    if (
      changed(
        e,
        (o) =>
          `${o.metadata.uid}|${o.status?.phase}|${o.metadata.annotations?.[ANNOTATION_SELECTED_NODE] ?? ''}`,
      )
    )
      c.enqueue(objectKey(e.object));
  });
  return c;

  async function reconcile(key: string): Promise<Result> {
    for (const gone of deleted.get(key)) {
      if (gone.metadata.uid) {
        await runtime.deleteDisk(gone.metadata.uid);
        log.info(
          { namespace: gone.metadata.namespace, claim: gone.metadata.name },
          'claim deleted: disk deleted',
        );
      }
      deleted.done(key, gone.metadata.uid);
    }
    const claim = (await store.get(refFor(PERSISTENT_VOLUME_CLAIM, key))) as
      PersistentVolumeClaim | undefined;
    if (!claim?.metadata.uid || claim.status?.phase === 'Bound') return {};
    if (claim.metadata.annotations?.[ANNOTATION_SELECTED_NODE] !== ctx.nodeName) return {};
    const planned = await contentOf(claim);
    if ('problem' in planned) {
      await setPopulated(claim, 'False', planned.problem.reason, planned.problem.message);
      return { requeueAfter: RETRY_MS };
    }
    let capacityBytes: number;
    try {
      ({ capacityBytes } = await runtime.createDisk({
        id: claim.metadata.uid,
        capacityBytes: requestedBytes(claim.spec) ?? 1024 ** 3,
        content: planned.content,
      }));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      await setPopulated(claim, 'False', 'PopulationFailed', message);
      throw e;
    }
    await updateWithRetry<PersistentVolumeClaim>(
      store,
      refOf(claim),
      (o) => {
        const status = (o.status ??= {});
        status.phase = 'Bound';
        status.capacity = { storage: formatBytes(capacityBytes) };
        status.accessModes = o.spec.accessModes ?? ['ReadWriteOnce'];
        status.conditions = (status.conditions ?? []).filter((x) => x.type !== CONDITION_POPULATED);
        const annotations = (o.metadata.annotations ??= {});
        annotations['pv.kubernetes.io/bind-completed'] = 'yes';
        if (planned.boot) annotations[ANNOTATION_DISK_BOOT] = JSON.stringify(planned.boot);
        return true;
      },
      { expectUid: claim.metadata.uid },
    );
    await event(
      claim,
      'Normal',
      'ProvisioningSucceeded',
      `Disk made on node ${ctx.nodeName} (${planned.content.type})`,
    );
    log.info(
      {
        namespace: claim.metadata.namespace,
        claim: claim.metadata.name,
        content: planned.content.type,
      },
      'claim bound',
    );
    return {};
  }

  async function contentOf(
    claim: PersistentVolumeClaim,
  ): Promise<
    | { content: PersistentDiskContent; boot?: ImageBoot }
    | { problem: { reason: string; message: string } }
  > {
    const population = populationOf(claim);
    switch (population.type) {
      case 'blank':
        return { content: { type: 'blank' } };
      case 'image': {
        const image = await ctx.images?.resolve(population.reference);
        if (!image)
          return {
            problem: {
              reason: 'ImageNotFound',
              message: `image ${JSON.stringify(population.reference)} is not in the image store: import it with \`harrow image import NAME FILE --alias ${population.reference}\``,
            },
          };
        return {
          content: { type: 'image', image: image.name, file: image.path, format: image.format },
          boot: image.boot,
        };
      }
      case 'clone': {
        const source = (await store.get({
          kind: PERSISTENT_VOLUME_CLAIM,
          namespace: population.namespace,
          name: population.name,
        })) as PersistentVolumeClaim | undefined;
        const from = `${population.namespace}/${population.name}`;
        if (!source?.metadata.uid)
          return {
            problem: {
              reason: 'CloneSourceNotFound',
              message: `the source claim ${from} does not exist`,
            },
          };
        if (source.status?.phase !== 'Bound')
          return {
            problem: {
              reason: 'CloneSourceNotBound',
              message: `the source claim ${from} has no disk yet`,
            },
          };
        if (source.metadata.annotations?.[ANNOTATION_SELECTED_NODE] !== ctx.nodeName)
          return {
            problem: {
              reason: 'CloneSourceOnOtherNode',
              message: `the source claim ${from}'s disk is on node ${source.metadata.annotations?.[ANNOTATION_SELECTED_NODE] ?? '?'}`,
            },
          };
        const boot = source.metadata.annotations?.[ANNOTATION_DISK_BOOT];
        return {
          content: { type: 'disk', diskId: source.metadata.uid },
          ...(boot ? { boot: JSON.parse(boot) as ImageBoot } : {}),
        };
      }
    }
  }

  async function setPopulated(
    claim: PersistentVolumeClaim,
    status: 'True' | 'False',
    reason: string,
    message: string,
  ): Promise<void> {
    const before = claim.status?.conditions?.find((x) => x.type === CONDITION_POPULATED);
    if (before?.status === status && before.reason === reason && before.message === message) return;
    const nowIso = new Date(ctx.now()).toISOString();
    await updateWithRetry<PersistentVolumeClaim>(
      store,
      refOf(claim),
      (o) => {
        setCondition(
          ((o.status ??= {}).conditions ??= []),
          { type: CONDITION_POPULATED, status, reason, message },
          nowIso,
        );
        return true;
      },
      { expectUid: claim.metadata.uid ?? '' },
    );
    await event(claim, 'Warning', reason, message);
  }

  /** Disks whose claim is gone (deleted while this node was down) are deleted. */
  async function removeOrphanDisks(): Promise<void> {
    const uids = new Set(
      (await store.list(PERSISTENT_VOLUME_CLAIM)).items.map((o) => o.metadata.uid ?? ''),
    );
    for (const id of await runtime.listDisks()) {
      if (uids.has(id)) continue;
      await runtime.deleteDisk(id);
      log.info({ disk: id }, 'orphan disk deleted: no claim has its uid');
    }
  }
}
