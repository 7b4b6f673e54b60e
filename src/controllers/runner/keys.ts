// Work-queue keys: an object's `namespace/name` (or `name` when cluster-scoped), and back.
import type { KubeObject } from '../../resources/meta.ts';

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones. */
export const objectKey = (o: KubeObject): string =>
  o.metadata.namespace === undefined || o.metadata.namespace === ''
    ? o.metadata.name
    : `${o.metadata.namespace}/${o.metadata.name}`;

/** Splits a key made by objectKey (a key without a slash is cluster-scoped). */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export const refFor = (
  kind: string,
  key: string,
): { kind: string; namespace?: string; name: string } => ({
  kind,
  ...splitKey(key),
});
