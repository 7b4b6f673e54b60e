// Server-side field validation (?fieldValidation=Ignore|Warn|Strict): fields the kind's OpenAPI schema neither declares nor keeps.
import { BadRequest } from '../resources/errors.ts';
import type { KindInfo } from '../resources/kinds.ts';
import { KIND_SCHEMAS, META_SCHEMAS, type Schema } from './openapi-schemas.ts';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** The directive a request asked for; Warn when absent, as Kubernetes does since 1.27. */
export function fieldValidationOf(value: string | undefined): FieldValidation {
  if (value === undefined || value === '') return 'Warn';
  if (value === 'Ignore' || value === 'Warn' || value === 'Strict') return value;
  throw new BadRequest(
    `fieldValidation must be one of Ignore, Warn or Strict, not ${JSON.stringify(value)}`,
  );
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function resolve(schema: Schema): Schema {
  const target = schema.$ref ?? (schema.allOf?.length === 1 ? schema.allOf[0]!.$ref : undefined);
  if (target === undefined) return schema;
  const resolved = META_SCHEMAS[target.replace('#/components/schemas/', '')];
  if (!resolved) throw new Error(`unresolved schema reference ${target}`);
  return resolved;
}

/** Walks `value` along `schema`, calling `found` with the path, parent object and key of each field it does not know. */
function walk(
  value: unknown,
  schema: Schema,
  path: string,
  found: (path: string, parent: Record<string, unknown>, key: string) => void,
): void {
  const s = resolve(schema);
  if (s['x-kubernetes-preserve-unknown-fields']) return;
  if (Array.isArray(value)) {
    if (s.items) value.forEach((v, i) => walk(v, s.items!, `${path}[${i}]`, found));
    return;
  }
  if (!isObject(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const here = path === '' ? key : `${path}.${key}`;
    const declared = s.properties?.[key];
    if (declared) walk(v, declared, here, found);
    else if (isObject(s.additionalProperties)) walk(v, s.additionalProperties, here, found);
    else if (s.additionalProperties !== true && (s.properties !== undefined || s.type === 'object'))
      found(here, value, key);
  }
}

/** Paths (`spce`, `metadata.labelz`) of the fields of `object` that its kind's schema neither declares nor keeps. */
export function unknownFields(info: KindInfo, object: unknown): string[] {
  const schema = KIND_SCHEMAS[info.kind];
  if (!schema) return [];
  const out: string[] = [];
  walk(object, schema, '', (path) => out.push(path));
  return out;
}

/** Removes the unknown fields from `object`, as kube-apiserver prunes a structural schema's unknown fields. */
function prune(info: KindInfo, object: unknown): void {
  const schema = KIND_SCHEMAS[info.kind];
  if (!schema) return;
  const doomed: Array<[Record<string, unknown>, string]> = [];
  walk(object, schema, '', (_path, parent, key) => doomed.push([parent, key]));
  for (const [parent, key] of doomed) delete parent[key];
}

/**
 * Applies the directive to the unknown fields of `object`, as kube-apiserver does for a CRD with a structural schema:
 * Strict refuses the request naming each field; Warn and Ignore drop the fields (pruning), Warn returning one warning
 * per field. Fields already in `before` (the stored object a patch or replace starts from) were judged when they came
 * and are not reported again, but are dropped all the same.
 */
export function checkFields(
  info: KindInfo,
  object: unknown,
  directive: FieldValidation,
  before?: unknown,
): string[] {
  const known = new Set(before === undefined ? [] : unknownFields(info, before));
  const unknown = unknownFields(info, object).filter((f) => !known.has(f));
  const messages = unknown.map((f) => `unknown field "${f}"`);
  if (directive === 'Strict' && unknown.length > 0) {
    throw new BadRequest(
      `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${messages.join(', ')}`,
    );
  }
  prune(info, object);
  return directive === 'Warn' ? messages : [];
}
