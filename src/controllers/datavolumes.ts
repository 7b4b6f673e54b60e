// The DataVolume controllers (CDI's and virt-controller's roles): a VM's dataVolumeTemplates become DataVolumes it owns,
// each DataVolume a PersistentVolumeClaim of its name that it owns, and the DataVolume's status follows the claim.
// Owned objects go with their owner (Kubernetes' garbage collector's rule): a DataVolume whose owning VM is gone is
// deleted, and the claim of a gone DataVolume; one whose ownerReference was removed is kept.
import {
  refOf,
  setCondition,
  type Condition,
  type KubeObject,
  type OwnerReference,
} from '../resources/meta.ts';
import {
  ANNOTATION_IMPORT_ENDPOINT,
  ANNOTATION_IMPORT_SOURCE,
  ANNOTATION_SELECTED_NODE,
  claimPopulationFields,
  dataVolumeStorage,
  formatBytes,
  imageReferenceOf,
  requestedBytes,
} from '../resources/datavolume.ts';
import {
  DATA_VOLUME,
  PERSISTENT_VOLUME_CLAIM,
  type DataVolume,
  type PersistentVolumeClaim,
  type VirtualMachine,
} from '../resources/types.ts';
import { AlreadyExists } from '../resources/errors.ts';
import type { ControllerContext } from './context.ts';
import { eventRecorder } from './events.ts';
import { changed, objectKey, refFor, type Result } from './framework.ts';
import { deleteIfExists, updateWithRetry } from './optimistic-update.ts';

const INDEX_OWNER_VM = 'ownerVm';
/** A DataVolume waiting for a clone source to appear looks again this often. */
const SOURCE_RETRY_MS = 5_000;
/** The PVC condition the node's volumes controller writes when it cannot fill a claim (reason, message). */
export const CONDITION_POPULATED = 'Populated';

/** The controlling owner of an object, when it is of `kind`. */
export const controllerOf = (o: KubeObject, kind: string): OwnerReference | undefined =>
  o.metadata.ownerReferences?.find((r) => r.kind === kind && r.controller === true);

export function dataVolumeControllers(ctx: ControllerContext): void {
  const { store } = ctx;
  const log = ctx.logger.child({ controller: 'datavolume' });
  const event = eventRecorder(store, log, { component: 'cdi-controller', host: ctx.nodeName });
  const dataVolumes = ctx.manager.informer<DataVolume>(DATA_VOLUME);
  const claims = ctx.manager.informer<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM);
  dataVolumes.addIndex(INDEX_OWNER_VM, (dv) => {
    const owner = controllerOf(dv, 'VirtualMachine');
    return owner ? [`${dv.metadata.namespace ?? 'default'}/${owner.name}`] : [];
  });

  const templates = ctx.manager.controller({
    name: 'datavolume-templates',
    reconcile: reconcileTemplates,
    concurrency: ctx.concurrency,
  });
  ctx.informers.vms.onEvent((e) => {
    if (
      changed(e, (vm) => `${vm.metadata.uid}|${JSON.stringify(vm.spec.dataVolumeTemplates ?? [])}`)
    )
      templates.enqueue(objectKey(e.object));
  });
  dataVolumes.onEvent((e) => {
    const owner = controllerOf(e.object, 'VirtualMachine');
    if (owner && e.type === 'DELETED')
      templates.enqueue(`${e.object.metadata.namespace ?? 'default'}/${owner.name}`);
  });

  const volumes = ctx.manager.controller({
    name: 'datavolume',
    reconcile: reconcileDataVolume,
    concurrency: ctx.concurrency,
  });
  dataVolumes.onEvent((e) => {
    if (changed(e, (dv) => `${dv.metadata.uid}|${JSON.stringify(dv.spec)}`))
      volumes.enqueue(objectKey(e.object));
  });
  claims.onEvent((e) => {
    if (
      changed(
        e,
        (c) =>
          `${c.metadata.uid}|${JSON.stringify(c.status ?? {})}|${JSON.stringify(c.metadata.annotations ?? {})}`,
      )
    )
      volumes.enqueue(objectKey(e.object));
  });
  // Clones wait for their source claim: a claim that changes wakes the DataVolumes that copy it.
  claims.onEvent((e) => {
    const key = objectKey(e.object);
    for (const dv of dataVolumes.values()) {
      const src = dv.spec?.source?.pvc;
      if (src && `${src.namespace ?? dv.metadata.namespace ?? 'default'}/${src.name}` === key)
        volumes.enqueue(objectKey(dv));
    }
  });

  /** A VM's templates → DataVolumes it owns; DataVolumes of a gone VM (or of an earlier VM of its name) are deleted. */
  async function reconcileTemplates(key: string): Promise<Result> {
    const vm = (await store.get(refFor('VirtualMachine', key))) as VirtualMachine | undefined;
    for (const dv of dataVolumes.byIndex(INDEX_OWNER_VM, key)) {
      const owner = controllerOf(dv, 'VirtualMachine');
      if (vm && owner?.uid === vm.metadata.uid) continue;
      if (await deleteIfExists(store, refOf(dv)))
        log.info(
          { namespace: dv.metadata.namespace, dataVolume: dv.metadata.name, vm: owner?.name },
          'the owning VM is gone: DataVolume deleted',
        );
    }
    if (!vm || vm.metadata.deletionTimestamp !== undefined) return {};
    const namespace = vm.metadata.namespace ?? 'default';
    for (const template of vm.spec.dataVolumeTemplates ?? []) {
      const name = template.metadata.name;
      if (await store.get({ kind: DATA_VOLUME, namespace, name })) continue;
      const dv: DataVolume = {
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: DATA_VOLUME,
        metadata: {
          name,
          namespace,
          ...(template.metadata.labels ? { labels: { ...template.metadata.labels } } : {}),
          ...(template.metadata.annotations
            ? { annotations: { ...template.metadata.annotations } }
            : {}),
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
      };
      try {
        await store.create(dv);
      } catch (e) {
        if (!(e instanceof AlreadyExists)) throw e;
        continue;
      }
      await event(vm, 'Normal', 'SuccessfulDataVolumeCreate', `Created DataVolume ${name}`);
      log.info(
        { namespace, vm: vm.metadata.name, dataVolume: name },
        'DataVolume created from template',
      );
    }
    return {};
  }

  /** A DataVolume → its claim (made once), and the DataVolume's phase from the claim. */
  async function reconcileDataVolume(key: string): Promise<Result> {
    const dv = (await store.get(refFor(DATA_VOLUME, key))) as DataVolume | undefined;
    let claim = (await store.get(refFor(PERSISTENT_VOLUME_CLAIM, key))) as
      PersistentVolumeClaim | undefined;
    const claimOwner = claim ? controllerOf(claim, DATA_VOLUME) : undefined;
    if (claim && claimOwner && claimOwner.uid !== dv?.metadata.uid) {
      // The claim of a DataVolume that is gone (or was replaced): it goes with it, and its disk with the claim.
      await deleteIfExists(store, refOf(claim));
      log.info(
        { namespace: claim.metadata.namespace, claim: claim.metadata.name },
        'the owning DataVolume is gone: claim deleted',
      );
      claim = undefined;
    }
    if (!dv || dv.metadata.deletionTimestamp !== undefined) return {};
    const namespace = dv.metadata.namespace ?? 'default';
    if (!claim) {
      const made = await newClaim(dv, namespace);
      if ('wait' in made) {
        const reason = dv.spec.source?.pvc ? 'CloneSourceNotFound' : 'ImageNotFound';
        await setStatus(dv, 'Pending', 'N/A', [
          { type: 'Bound', status: 'False', reason, message: made.wait },
          { type: 'Ready', status: 'False', reason, message: made.wait },
        ]);
        return { requeueAfter: SOURCE_RETRY_MS };
      }
      try {
        claim = (await store.create(made.claim)) as PersistentVolumeClaim;
      } catch (e) {
        if (!(e instanceof AlreadyExists)) throw e;
        return { requeueAfter: 100 };
      }
      log.info({ namespace, dataVolume: dv.metadata.name }, 'claim created');
    }
    if (!controllerOf(claim, DATA_VOLUME)) {
      const message = `PersistentVolumeClaim ${claim.metadata.name} already exists and is not this DataVolume's`;
      await setStatus(dv, 'Failed', 'N/A', [
        { type: 'Ready', status: 'False', reason: 'ErrResourceExists', message },
      ]);
      return {};
    }
    const cloning = dv.spec.source?.pvc !== undefined;
    const failed = claim.status?.conditions?.find(
      (c) => c.type === CONDITION_POPULATED && c.status === 'False',
    );
    if (claim.status?.phase === 'Bound') {
      await setStatus(dv, 'Succeeded', '100.0%', [
        {
          type: 'Bound',
          status: 'True',
          reason: 'Bound',
          message: `PVC ${claim.metadata.name} Bound`,
        },
        { type: 'Ready', status: 'True' },
        { type: 'Running', status: 'False', reason: 'Completed' },
      ]);
    } else if (failed) {
      await setStatus(dv, cloning ? 'CloneScheduled' : 'ImportScheduled', 'N/A', [
        {
          type: 'Bound',
          status: 'False',
          reason: 'Pending',
          message: `PVC ${claim.metadata.name} Pending`,
        },
        {
          type: 'Ready',
          status: 'False',
          reason: failed.reason ?? 'Pending',
          message: failed.message ?? '',
        },
        {
          type: 'Running',
          status: 'False',
          reason: failed.reason ?? 'Pending',
          message: failed.message ?? '',
        },
      ]);
    } else if (claim.metadata.annotations?.[ANNOTATION_SELECTED_NODE]) {
      await setStatus(dv, cloning ? 'CloneInProgress' : 'ImportInProgress', 'N/A', [
        {
          type: 'Bound',
          status: 'False',
          reason: 'Pending',
          message: `PVC ${claim.metadata.name} Pending`,
        },
        { type: 'Ready', status: 'False' },
        { type: 'Running', status: 'True' },
      ]);
    } else {
      // The disk is made on the node of its first consumer (Kubernetes' WaitForFirstConsumer binding).
      await setStatus(dv, 'WaitForFirstConsumer', 'N/A', [
        {
          type: 'Bound',
          status: 'False',
          reason: 'WaitForFirstConsumer',
          message: `PVC ${claim.metadata.name} waits for a VM that uses it to start`,
        },
        { type: 'Ready', status: 'False', reason: 'WaitForFirstConsumer' },
      ]);
    }
    return {};
  }

  /** The claim a DataVolume fills; a clone takes its source's size when it gives none, and its node when it has one. */
  async function newClaim(
    dv: DataVolume,
    namespace: string,
  ): Promise<{ claim: PersistentVolumeClaim } | { wait: string }> {
    const request = dataVolumeStorage(dv.spec);
    const { annotations } = claimPopulationFields(dv.spec, namespace);
    let storage = request.resources?.requests?.storage;
    const src = dv.spec.source?.pvc;
    if (src) {
      const source = (await store.get({
        kind: PERSISTENT_VOLUME_CLAIM,
        namespace: src.namespace ?? namespace,
        name: src.name,
      })) as PersistentVolumeClaim | undefined;
      if (!source)
        return {
          wait: `the clone source PersistentVolumeClaim ${src.namespace ?? namespace}/${src.name} does not exist`,
        };
      storage ??= source.spec.resources?.requests?.storage;
      const node = source.metadata.annotations?.[ANNOTATION_SELECTED_NODE];
      // A source with a disk is copied now, where it lives; one with none yet is filled the way its source is.
      if (source.status?.phase === 'Bound' && node) annotations[ANNOTATION_SELECTED_NODE] = node;
      else if (source.status?.phase !== 'Bound') {
        const { annotations: sourceFill } = claimPopulationFields(
          { source: sourceRecipe(source) },
          namespace,
        );
        for (const k of Object.keys(annotations)) delete annotations[k];
        Object.assign(annotations, sourceFill);
      }
    }
    const reference = imageReferenceOf(dv.spec.source ?? {}, dv.spec.sourceRef);
    if (storage === undefined && reference !== undefined) {
      // No size given for an image (a DataSource's): the image's own.
      const image = await ctx.images?.resolve(reference);
      if (image) storage = formatBytes(image.virtualSizeBytes);
      else return { wait: `image ${JSON.stringify(reference)} is not in the image store` };
    }
    if (requestedBytes({ resources: { requests: { storage } } }) === undefined)
      return { wait: `no size: give spec.storage.resources.requests.storage` };
    return {
      claim: {
        apiVersion: 'v1',
        kind: PERSISTENT_VOLUME_CLAIM,
        metadata: {
          name: dv.metadata.name,
          namespace,
          labels: { app: 'containerized-data-importer' },
          annotations,
          ownerReferences: [
            {
              apiVersion: 'cdi.kubevirt.io/v1beta1',
              kind: DATA_VOLUME,
              name: dv.metadata.name,
              uid: dv.metadata.uid ?? '',
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: {
          accessModes: request.accessModes ?? ['ReadWriteOnce'],
          resources: { requests: { storage: storage ?? '' } },
          ...(request.volumeMode ? { volumeMode: request.volumeMode } : {}),
          ...(request.storageClassName ? { storageClassName: request.storageClassName } : {}),
        },
        status: { phase: 'Pending' },
      },
    };
  }

  async function setStatus(
    dv: DataVolume,
    phase: string,
    progress: string,
    conditions: Condition[],
  ): Promise<void> {
    const nowIso = new Date(ctx.now()).toISOString();
    const written = await updateWithRetry<DataVolume>(
      store,
      refOf(dv),
      (o) => {
        const status = (o.status ??= {});
        const before = JSON.stringify(status);
        status.phase = phase;
        status.progress = progress;
        status.claimName = o.metadata.name;
        const conds = (status.conditions ??= []);
        for (const c of conditions) setCondition(conds, c, nowIso);
        return JSON.stringify(status) !== before;
      },
      { expectUid: dv.metadata.uid ?? '' },
    );
    if (written && dv.status?.phase !== phase && (phase === 'Succeeded' || phase === 'Failed'))
      await event(
        written,
        phase === 'Succeeded' ? 'Normal' : 'Warning',
        phase === 'Succeeded' ? 'ImportSucceeded' : 'Error',
        phase === 'Succeeded'
          ? `Successfully filled PersistentVolumeClaim ${dv.metadata.name}`
          : `DataVolume ${dv.metadata.name} failed`,
      );
  }
}

/** The DataVolume source that fills a claim the way `claim` is filled (a clone of a claim that has no disk yet). */
function sourceRecipe(claim: PersistentVolumeClaim): DataVolume['spec']['source'] {
  const a = claim.metadata.annotations ?? {};
  const endpoint = a[ANNOTATION_IMPORT_ENDPOINT];
  const kind = a[ANNOTATION_IMPORT_SOURCE];
  if (endpoint && kind === 'registry') return { registry: { url: `docker://${endpoint}` } };
  if (endpoint && kind === 'http') return { http: { url: endpoint } };
  return { blank: {} };
}
