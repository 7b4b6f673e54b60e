// Checks and normalises the object a client sent: kind, apiVersion, namespace and name against the URL, server-owned metadata.
import {
  BadRequest,
  Invalid,
  fieldInvalid,
  fieldRequired,
  type StatusCause,
} from '../resources/errors.ts';
import { apiVersionOf, type KindInfo } from '../resources/kinds.ts';
import type { KubeObject } from '../resources/meta.ts';
import {
  GENERATED_SUFFIX_LENGTH,
  generatedSuffix,
  validateDns1123Label,
} from '../resources/names.ts';
import { isLabelKey, isLabelValue } from './selectors.ts';

/** Kinds whose status is written only through `/status` (and by controllers): the main resource keeps the stored status. */
const STATUS_SUBRESOURCE_KINDS = new Set([
  'VirtualMachine',
  'VirtualMachineInstance',
  'VirtualMachineClone',
  'Pod',
  'Node',
  'Namespace',
  'MacPool',
  'DataVolume',
  'PersistentVolumeClaim',
]);

export const hasStatusSubresource = (kind: string): boolean => STATUS_SUBRESOURCE_KINDS.has(kind);

/** As in Kubernetes, Events and Nodes may be named with dots (DNS-1123 subdomains); every other kind takes a label. */
const SUBDOMAIN_NAMED_KINDS = new Set(['Event', 'Node']);

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function validateName(kind: string, name: unknown, field = 'metadata.name'): StatusCause[] {
  if (!SUBDOMAIN_NAMED_KINDS.has(kind) || typeof name !== 'string' || name === '')
    return validateDns1123Label(name, field);
  if (name.length > 253)
    return [
      fieldInvalid(
        field,
        `${JSON.stringify(name.slice(0, 80))}…: must be no more than 253 characters`,
      ),
    ];
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return [
      fieldInvalid(
        field,
        `${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      ),
    ];
  }
  return [];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export interface UrlIdentity {
  namespace?: string;
  name?: string;
}

/** The body as a KubeObject of `info`'s kind, with namespace and name reconciled with the URL. Unknown fields are kept. */
export function incomingObject(body: unknown, info: KindInfo, url: UrlIdentity): KubeObject {
  if (!isObject(body)) {
    throw new BadRequest(
      `the request body must be a JSON object (a ${info.kind} manifest)${body === undefined ? ', and it is empty' : ''}`,
    );
  }
  const object = body as KubeObject;
  if (object.kind === undefined) object.kind = info.kind;
  else if (object.kind !== info.kind) {
    throw new BadRequest(
      `the kind of the object (${String(object.kind)}) does not match the kind the URL serves (${info.kind})`,
    );
  }
  const served = apiVersionOf(info);
  if (object.apiVersion === undefined) object.apiVersion = served;
  else if (object.apiVersion !== served) {
    // An older version of the same group (kubevirt.io/v1alpha3 manifests) has the same schema here: serve it as v1.
    const group =
      typeof object.apiVersion === 'string' && object.apiVersion.includes('/')
        ? object.apiVersion.split('/')[0]
        : '';
    if (group !== info.group || info.group === '') {
      throw new BadRequest(
        `the apiVersion of the object (${String(object.apiVersion)}) does not match the URL (${served})`,
      );
    }
    object.apiVersion = served;
  }
  if (object.metadata === undefined) object.metadata = { name: '' };
  if (!isObject(object.metadata))
    throw new Invalid(`${info.kind} is invalid: metadata must be an object`, [
      fieldInvalid('metadata', 'must be an object'),
    ]);
  const meta = object.metadata;
  if (info.namespaced) {
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== url.namespace) {
      throw new BadRequest(
        `the namespace of the provided object (${String(meta.namespace)}) does not match the namespace sent on the request (${url.namespace ?? ''})`,
      );
    }
    meta.namespace = url.namespace;
  } else {
    delete meta.namespace;
  }
  if (url.name !== undefined) {
    if (meta.name === undefined || meta.name === '') meta.name = url.name;
    else if (meta.name !== url.name) {
      throw new BadRequest(
        `the name of the object (${String(meta.name)}) does not match the name on the URL (${url.name})`,
      );
    }
  }
  const causes = [
    ...stringMapCauses(meta.labels, 'metadata.labels', true),
    ...stringMapCauses(meta.annotations, 'metadata.annotations', false),
  ];
  if (causes.length > 0)
    throw new Invalid(
      `${info.kind} "${String(meta.name ?? '')}" is invalid`,
      causes,
      detailsOf(info, meta.name),
    );
  return object;
}

function stringMapCauses(value: unknown, field: string, labels: boolean): StatusCause[] {
  if (value === undefined || value === null) return [];
  if (!isObject(value))
    return [fieldInvalid(field, 'must be an object of string keys to string values')];
  const causes: StatusCause[] = [];
  for (const [k, v] of Object.entries(value)) {
    const f = `${field}[${JSON.stringify(k)}]`;
    if (typeof v !== 'string') causes.push(fieldInvalid(f, 'must be a string'));
    if (!isLabelKey(k))
      causes.push(
        fieldInvalid(
          f,
          'the key must be a qualified name: an optional DNS subdomain prefix and "/", then at most 63 characters of [A-Za-z0-9-_.] starting and ending with an alphanumeric',
        ),
      );
    else if (labels && typeof v === 'string' && !isLabelValue(v)) {
      causes.push(
        fieldInvalid(
          f,
          `${JSON.stringify(v)}: a label value must be empty or at most 63 characters of [A-Za-z0-9-_.] starting and ending with an alphanumeric`,
        ),
      );
    }
  }
  return causes;
}

const detailsOf = (
  info: KindInfo,
  name: unknown,
): { name?: string; group: string; kind: string } => ({
  ...(typeof name === 'string' && name !== '' ? { name } : {}),
  group: info.group,
  kind: info.plural,
});

/** Names the object (generateName), validates the name, and drops what the server owns. */
export function prepareCreate(object: KubeObject, info: KindInfo): KubeObject {
  const meta = object.metadata;
  if (
    (meta.name === undefined || meta.name === '') &&
    typeof meta.generateName === 'string' &&
    meta.generateName !== ''
  ) {
    const maxPrefix = (SUBDOMAIN_NAMED_KINDS.has(info.kind) ? 253 : 63) - GENERATED_SUFFIX_LENGTH;
    meta.name = meta.generateName.slice(0, maxPrefix) + generatedSuffix();
    const causes = validateName(info.kind, meta.name, 'metadata.generateName');
    if (causes.length > 0)
      throw new Invalid(
        `${info.kind} is invalid: metadata.generateName does not make a valid name`,
        causes,
        detailsOf(info, undefined),
      );
  }
  const causes = validateName(info.kind, meta.name);
  if (meta.name === undefined || meta.name === '')
    causes.splice(
      0,
      causes.length,
      fieldRequired('metadata.name', 'name or generateName is required'),
    );
  if (causes.length > 0)
    throw new Invalid(
      `${info.kind} "${typeof meta.name === 'string' ? meta.name : ''}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join('; ')}`,
      causes,
      detailsOf(info, meta.name),
    );
  for (const owned of [
    'uid',
    'resourceVersion',
    'creationTimestamp',
    'generation',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
  ]) {
    delete meta[owned];
  }
  if (hasStatusSubresource(info.kind)) delete object.status;
  if (info.kind === 'Namespace') object.status = { phase: 'Active' };
  return object;
}

/** For an update through the main resource: server-owned metadata and (for status kinds) the status come from the stored object. */
export function carryOverOnUpdate(object: KubeObject, stored: KubeObject): KubeObject {
  const meta = object.metadata;
  for (const owned of [
    'uid',
    'creationTimestamp',
    'generation',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
  ]) {
    if (stored.metadata[owned] === undefined) delete meta[owned];
    else meta[owned] = stored.metadata[owned];
  }
  if (hasStatusSubresource(object.kind)) {
    if (stored.status === undefined) delete object.status;
    else object.status = structuredClone(stored.status);
  }
  return object;
}
