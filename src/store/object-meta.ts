// Object metadata rules every store applies the same way: system fields, their key order, generation, generated names.
import { BadRequest, Invalid, fieldInvalid, fieldRequired } from '../resources/errors.ts';
import type { KubeObject, ObjectMeta, ObjectRef } from '../resources/meta.ts';
import { generatedSuffix } from '../resources/names.ts';

const MAX_NAME_LENGTH = 63;
/** 27^5 ≈ 14M suffixes: a few tries only fail when the prefix is nearly exhausted, which deserves an error. */
export const GENERATE_NAME_ATTEMPTS = 8;

/** The prefix generated names start with; Invalid when the object has neither a name nor a generateName. */
export function generateNamePrefix(generateName: string | undefined): string {
  if (typeof generateName !== 'string' || generateName === '') {
    throw new Invalid('name or generateName is required', [
      fieldRequired('metadata.name', 'name or generateName is required'),
    ]);
  }
  return generateName.slice(0, MAX_NAME_LENGTH - 5);
}

/** The prefix and 5 random characters, as Kubernetes generates names. */
export function randomName(prefix: string): string {
  return prefix + generatedSuffix();
}

export const namespaceKey = (namespace: string | undefined): string => namespace ?? '';

export function refFor(kind: string, namespace: string, name: string): ObjectRef {
  return namespace === '' ? { kind, name } : { kind, namespace, name };
}

export function kindOf(object: KubeObject): string {
  if (typeof object?.kind !== 'string' || object.kind === '') {
    throw new Invalid('kind is required', [fieldRequired('kind', 'kind is required')]);
  }
  return object.kind;
}

export function metadataOf(object: KubeObject): ObjectMeta {
  const meta: unknown = object.metadata;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new Invalid('metadata must be an object', [
      fieldInvalid('metadata', 'metadata must be an object'),
    ]);
  }
  return meta as ObjectMeta;
}

export function parseRevision(value: string, field: string): number {
  if (!/^\d{1,15}$/.test(value)) {
    throw new BadRequest(`${field} must be a decimal revision, got "${value}"`);
  }
  return Number(value);
}

/** Kubernetes timestamps: RFC 3339 in UTC with second precision. */
export function kubeTimestamp(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

export type SystemFields = Required<Pick<ObjectMeta, 'name' | 'resourceVersion' | 'generation'>> &
  Pick<ObjectMeta, 'namespace' | 'uid' | 'creationTimestamp'>;

/** The object with the store's metadata, keys in the order Kubernetes prints them; the input is not modified. */
export function withMetadata(object: KubeObject, fields: SystemFields): KubeObject {
  const {
    name: _name,
    generateName,
    namespace: _namespace,
    uid: _uid,
    resourceVersion: _resourceVersion,
    generation: _generation,
    creationTimestamp: _creationTimestamp,
    ...rest
  } = object.metadata;
  const metadata: ObjectMeta = {
    name: fields.name,
    ...(generateName !== undefined ? { generateName } : {}),
    ...(fields.namespace !== undefined ? { namespace: fields.namespace } : {}),
    ...(fields.uid !== undefined ? { uid: fields.uid } : {}),
    resourceVersion: fields.resourceVersion,
    generation: fields.generation,
    ...(fields.creationTimestamp !== undefined
      ? { creationTimestamp: fields.creationTimestamp }
      : {}),
    ...rest,
  };
  const { apiVersion, kind, metadata: _m, ...body } = object;
  return { apiVersion, kind, metadata, ...body };
}

/**
 * An update as stored over `previous`: uid and creationTimestamp stay; generation moves only when spec changed (Kubernetes
 * leaves it alone for status, labels and annotations).
 */
export function updatedObject(
  object: KubeObject,
  previous: KubeObject,
  name: string,
  namespace: string,
  resourceVersion: string,
): KubeObject {
  const stored = previous.metadata;
  const storedGeneration = typeof stored.generation === 'number' ? stored.generation : 1;
  return withMetadata(object, {
    name,
    namespace: namespace === '' ? undefined : namespace,
    uid: stored.uid,
    resourceVersion,
    generation: sameJson(previous.spec, object.spec) ? storedGeneration : storedGeneration + 1,
    creationTimestamp: stored.creationTimestamp,
  });
}

/** Equality of two JSON values as JSON would see them: key order and undefined-valued keys do not matter. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return a === undefined || b === undefined ? a === b : false;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => sameJson(v ?? null, b[i] ?? null));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(rb, k) && sameJson(ra[k], rb[k]));
}
