// Kubernetes object shape shared by every Harrow resource; unknown fields are kept as they came.
import type { Static } from 'typebox';
import { ConditionSchema, ObjectMetaSchema, OwnerReferenceSchema } from './schema/meta.ts';

export type OwnerReference = Static<typeof OwnerReferenceSchema>;
export type ObjectMeta = Static<typeof ObjectMetaSchema>;

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  [field: string]: unknown;
}

/** Names an object: kind (unique across Harrow's groups), namespace for namespaced kinds, name. */
export interface ObjectRef {
  kind: string;
  namespace?: string;
  name: string;
}

export type Condition = Static<typeof ConditionSchema>;

export const refOf = (o: KubeObject): ObjectRef =>
  o.metadata.namespace === undefined
    ? { kind: o.kind, name: o.metadata.name }
    : { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };

export const keyOf = (r: ObjectRef): string =>
  r.namespace === undefined ? `${r.kind}/${r.name}` : `${r.kind}/${r.namespace}/${r.name}`;

/** Sets (or replaces) a condition, keeping lastTransitionTime when the status does not change. Returns true when anything changed. */
export function setCondition(conditions: Condition[], next: Condition, now: string): boolean {
  const i = conditions.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? conditions[i] : undefined;
  if (
    prev &&
    prev.status === next.status &&
    prev.reason === next.reason &&
    prev.message === next.message
  ) {
    return false;
  }
  const merged: Condition = {
    ...next,
    lastProbeTime: null,
    lastTransitionTime: prev && prev.status === next.status ? prev.lastTransitionTime : now,
  };
  if (i >= 0) conditions[i] = merged;
  else conditions.push(merged);
  return true;
}

/** The condition of that type, when the list has one. */
export const conditionOf = (
  conditions: Condition[] | undefined,
  type: string,
): Condition | undefined => conditions?.find((c) => c.type === type);

/** Removes a condition by type. Returns true when one was removed. */
export function removeCondition(conditions: Condition[], type: string): boolean {
  const i = conditions.findIndex((c) => c.type === type);
  if (i < 0) return false;
  conditions.splice(i, 1);
  return true;
}

/** A JSON object (not null, not an array): what a field of an incoming manifest must be before it is read further. */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
