// DataVolumes (CDI) and PersistentVolumeClaims: validation naming the field, the size a claim asks for, and where a
// claim's content comes from (blank, an image of the local store, a clone of another claim) as CDI records it.
import {
  Invalid,
  fieldDuplicate,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  type StatusCause,
} from './errors.ts';
import type { KubeObject } from './meta.ts';
import { validateDns1123Label } from './names.ts';
import type {
  DataVolume,
  DataVolumeSource,
  DataVolumeSpec,
  DataVolumeTemplate,
  PersistentVolumeClaim,
  StorageRequest,
} from './types.ts';
import { quantityToBytes } from './volumes.ts';

/** CDI's PVC annotations: what fills the claim (`registry`, `http`, `none` for blank) and from where. */
export const ANNOTATION_IMPORT_SOURCE = 'cdi.kubevirt.io/storage.import.source';
export const ANNOTATION_IMPORT_ENDPOINT = 'cdi.kubevirt.io/storage.import.endpoint';
/** CDI's clone request on a target PVC: `namespace/name` of the source claim. */
export const ANNOTATION_CLONE_REQUEST = 'k8s.io/CloneRequest';
/** Kubernetes' WaitForFirstConsumer binding: the node the claim's disk lives on, set when its first consumer runs. */
export const ANNOTATION_SELECTED_NODE = 'volume.kubernetes.io/selected-node';

/** CDI's source kinds Harrow fills a disk from. */
export const SUPPORTED_DV_SOURCES = ['blank', 'registry', 'http', 'pvc'] as const;
const OTHER_DV_SOURCES = ['upload', 's3', 'gcs', 'imageio', 'vddk', 'snapshot', 'storage'];
/** The smallest disk Harrow makes (qemu-img and a guest's partition table need some room). */
export const MIN_DISK_BYTES = 1024 * 1024;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** How a claim's disk is first filled. */
export type Population =
  | { type: 'blank' }
  | { type: 'image'; reference: string }
  | { type: 'clone'; namespace: string; name: string };

/** `docker://quay.io/containerdisks/debian:12` → `quay.io/containerdisks/debian:12` (the store's alias form). */
export function imageReferenceOf(
  source: DataVolumeSource,
  sourceRef?: DataVolumeSpec['sourceRef'],
): string | undefined {
  // A DataSource (CDI's named, curated image) is the store image of that name or alias.
  if (sourceRef && typeof sourceRef.name === 'string') return sourceRef.name;
  const url = source.registry?.url ?? source.http?.url;
  if (typeof url !== 'string') return undefined;
  return source.registry ? url.replace(/^(docker|oci-archive):\/\//, '') : url;
}

/** The storage request of a DataVolume: `spec.storage` (CDI's recommended API) or `spec.pvc`. */
export function dataVolumeStorage(spec: DataVolumeSpec): StorageRequest {
  return spec.storage ?? spec.pvc ?? {};
}

/** The size a claim (or a DataVolume's storage) asks for, in bytes; undefined when none is given. */
export const requestedBytes = (request: StorageRequest | undefined): number | undefined =>
  quantityToBytes(request?.resources?.requests?.storage);

/** `1073741824` → `1Gi`: the capacity a PVC reports, in the largest binary unit that divides it. */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['Ti', 1024 ** 4],
    ['Gi', 1024 ** 3],
    ['Mi', 1024 ** 2],
    ['Ki', 1024],
  ] as const)
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  return String(bytes);
}

/** The annotations and dataSource of the PVC a DataVolume fills (CDI's own PVC annotations). */
export function claimPopulationFields(
  spec: DataVolumeSpec,
  namespace: string,
): { annotations: Record<string, string> } {
  const source = spec.source ?? {};
  if (source.pvc)
    return {
      annotations: {
        [ANNOTATION_CLONE_REQUEST]: `${source.pvc.namespace ?? namespace}/${source.pvc.name}`,
      },
    };
  const reference = imageReferenceOf(source, spec.sourceRef);
  if (reference !== undefined)
    return {
      annotations: {
        [ANNOTATION_IMPORT_SOURCE]: source.http ? 'http' : 'registry',
        [ANNOTATION_IMPORT_ENDPOINT]: reference,
      },
    };
  return { annotations: { [ANNOTATION_IMPORT_SOURCE]: 'none' } };
}

/** How a PVC's disk is filled: CDI's annotations, Kubernetes' own clone (`spec.dataSource` a PVC), else blank. */
export function populationOf(pvc: PersistentVolumeClaim): Population {
  const a = pvc.metadata.annotations ?? {};
  const namespace = pvc.metadata.namespace ?? 'default';
  const clone = a[ANNOTATION_CLONE_REQUEST];
  if (clone) {
    const [ns, name] = clone.includes('/') ? clone.split('/', 2) : [namespace, clone];
    return { type: 'clone', namespace: ns || namespace, name: name ?? '' };
  }
  const endpoint = a[ANNOTATION_IMPORT_ENDPOINT];
  if (endpoint && a[ANNOTATION_IMPORT_SOURCE] !== 'none')
    return { type: 'image', reference: endpoint };
  const ds = pvc.spec?.dataSource;
  if (ds?.kind === 'PersistentVolumeClaim' && typeof ds.name === 'string')
    return { type: 'clone', namespace, name: ds.name };
  return { type: 'blank' };
}

function validateStorage(request: unknown, at: string, sizeRequired: boolean): StatusCause[] {
  if (request === undefined) return [];
  if (!isObject(request)) return [fieldInvalid(at, 'must be an object')];
  const causes: StatusCause[] = [];
  if (request.accessModes !== undefined && !Array.isArray(request.accessModes))
    causes.push(fieldInvalid(`${at}.accessModes`, 'must be a list'));
  if (
    request.volumeMode !== undefined &&
    request.volumeMode !== 'Filesystem' &&
    request.volumeMode !== 'Block'
  )
    causes.push(
      fieldNotSupported(
        `${at}.volumeMode`,
        `${JSON.stringify(request.volumeMode)}: one of Filesystem, Block`,
      ),
    );
  const resources = request.resources;
  if (resources !== undefined && !isObject(resources))
    return [...causes, fieldInvalid(`${at}.resources`, 'must be an object')];
  const requests = isObject(resources) ? resources.requests : undefined;
  if (requests !== undefined && !isObject(requests))
    return [...causes, fieldInvalid(`${at}.resources.requests`, 'must be an object')];
  const storage = isObject(requests) ? requests.storage : undefined;
  const field = `${at}.resources.requests.storage`;
  if (storage === undefined) {
    if (sizeRequired) causes.push(fieldRequired(field, 'the disk size is required, e.g. 10Gi'));
  } else {
    const bytes = quantityToBytes(storage);
    if (bytes === undefined || bytes < MIN_DISK_BYTES)
      causes.push(
        fieldInvalid(
          field,
          `${JSON.stringify(storage)}: must be a quantity of at least 1Mi, e.g. 10Gi`,
        ),
      );
  }
  return causes;
}

/** Causes for a DataVolume spec at `at` (`spec` of a DataVolume, `spec.dataVolumeTemplates[i].spec` of a VM). */
export function validateDataVolumeSpec(spec: unknown, at: string): StatusCause[] {
  if (!isObject(spec)) return [fieldRequired(at, 'a DataVolume needs a spec')];
  const causes: StatusCause[] = [];
  const source = spec.source;
  const sourceRef = spec.sourceRef;
  if (sourceRef !== undefined) {
    if (!isObject(sourceRef) || (sourceRef.kind !== undefined && sourceRef.kind !== 'DataSource'))
      causes.push(fieldNotSupported(`${at}.sourceRef.kind`, 'must be DataSource'));
    else causes.push(...validateDns1123Label(sourceRef.name, `${at}.sourceRef.name`));
    if (source !== undefined)
      causes.push(fieldInvalid(`${at}.source`, 'give source or sourceRef, not both'));
  } else if (!isObject(source)) {
    causes.push(
      fieldRequired(
        `${at}.source`,
        `a DataVolume needs a source: ${SUPPORTED_DV_SOURCES.join(', ')}`,
      ),
    );
  } else {
    const known = SUPPORTED_DV_SOURCES.filter((s) => source[s] !== undefined);
    const other = OTHER_DV_SOURCES.filter((s) => source[s] !== undefined);
    if (known.length + other.length !== 1) {
      causes.push(
        fieldInvalid(
          `${at}.source`,
          known.length + other.length === 0
            ? `one source is required: ${SUPPORTED_DV_SOURCES.join(', ')}`
            : `a DataVolume has exactly one source, found ${[...known, ...other].join(', ')}`,
        ),
      );
    } else if (other.length > 0) {
      causes.push(
        fieldNotSupported(
          `${at}.source.${other[0]}`,
          `source ${other[0]} is not supported by Harrow: use ${SUPPORTED_DV_SOURCES.join(', ')}`,
        ),
      );
    } else {
      const kind = known[0] as (typeof SUPPORTED_DV_SOURCES)[number];
      const body = source[kind];
      const bodyAt = `${at}.source.${kind}`;
      if (!isObject(body)) causes.push(fieldInvalid(bodyAt, 'must be an object'));
      else if (kind === 'registry' || kind === 'http') {
        const url = body.url;
        if (typeof url !== 'string' || url.trim() === '')
          causes.push(fieldRequired(`${bodyAt}.url`, 'the image URL is required'));
        else if (kind === 'registry' && !/^(docker|oci-archive):\/\/\S+$/.test(url))
          causes.push(
            fieldInvalid(
              `${bodyAt}.url`,
              `${JSON.stringify(url)}: must be docker://REGISTRY/IMAGE:TAG (the image of that name in Harrow's image store)`,
            ),
          );
      } else if (kind === 'pvc') {
        causes.push(...validateDns1123Label(body.name, `${bodyAt}.name`));
        if (body.namespace !== undefined)
          causes.push(...validateDns1123Label(body.namespace, `${bodyAt}.namespace`));
      }
    }
  }
  if (spec.storage !== undefined && spec.pvc !== undefined)
    causes.push(fieldInvalid(`${at}.pvc`, 'give storage or pvc, not both'));
  if (spec.storage === undefined && spec.pvc === undefined)
    causes.push(
      fieldRequired(
        `${at}.storage`,
        'storage (or pvc) with resources.requests.storage is required',
      ),
    );
  // A clone may leave the size out with the storage API (CDI takes the source's, and a DataSource's image has one).
  const cloneSource = (isObject(source) && source.pvc !== undefined) || sourceRef !== undefined;
  causes.push(...validateStorage(spec.storage, `${at}.storage`, !cloneSource));
  causes.push(...validateStorage(spec.pvc, `${at}.pvc`, true));
  return causes;
}

/** Causes for a VM's spec.dataVolumeTemplates. */
export function validateDataVolumeTemplates(templates: unknown): StatusCause[] {
  const at = 'spec.dataVolumeTemplates';
  if (templates === undefined) return [];
  if (!Array.isArray(templates)) return [fieldInvalid(at, 'must be a list')];
  const causes: StatusCause[] = [];
  const names = new Set<string>();
  templates.forEach((raw: unknown, i) => {
    const field = `${at}[${i}]`;
    if (!isObject(raw)) {
      causes.push(fieldInvalid(field, 'must be an object'));
      return;
    }
    const t = raw as DataVolumeTemplate;
    if (t.kind !== undefined && t.kind !== 'DataVolume')
      causes.push(fieldNotSupported(`${field}.kind`, 'must be DataVolume'));
    const name = isObject(t.metadata) ? t.metadata.name : undefined;
    const nameCauses = validateDns1123Label(name, `${field}.metadata.name`);
    causes.push(...nameCauses);
    if (nameCauses.length === 0 && typeof name === 'string') {
      if (names.has(name))
        causes.push(
          fieldDuplicate(
            `${field}.metadata.name`,
            `DataVolume ${JSON.stringify(name)} is templated twice`,
          ),
        );
      names.add(name);
    }
    causes.push(...validateDataVolumeSpec(t.spec, `${field}.spec`));
  });
  return causes;
}

function invalid(o: KubeObject, shown: string, group: string, causes: StatusCause[]): Invalid {
  const name = typeof o.metadata?.name === 'string' ? o.metadata.name : '';
  return new Invalid(
    `${shown} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
    causes,
    { name, group, kind: o.kind },
  );
}

export function validateDataVolume(dv: DataVolume): void {
  const causes = validateDataVolumeSpec(dv.spec, 'spec');
  if (causes.length > 0) throw invalid(dv, 'DataVolume.cdi.kubevirt.io', 'cdi.kubevirt.io', causes);
}

export function validatePersistentVolumeClaim(pvc: PersistentVolumeClaim): void {
  const causes: StatusCause[] = [];
  if (!isObject(pvc.spec))
    causes.push(fieldRequired('spec', 'a PersistentVolumeClaim needs a spec'));
  else {
    causes.push(...validateStorage(pvc.spec, 'spec', true));
    if (pvc.spec.resources === undefined)
      causes.push(
        fieldRequired('spec.resources.requests.storage', 'the disk size is required, e.g. 10Gi'),
      );
    const ds = pvc.spec.dataSource;
    if (ds !== undefined) {
      if (!isObject(ds) || ds.kind !== 'PersistentVolumeClaim')
        causes.push(
          fieldNotSupported(
            'spec.dataSource.kind',
            'Harrow fills a claim from another PersistentVolumeClaim only',
          ),
        );
      else causes.push(...validateDns1123Label(ds.name, 'spec.dataSource.name'));
    }
  }
  if (causes.length > 0) throw invalid(pvc, 'PersistentVolumeClaim', '', causes);
}
