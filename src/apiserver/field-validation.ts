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

function collect(value: unknown, schema: Schema, path: string, out: string[]): void {
  const s = resolve(schema);
  if (s['x-kubernetes-preserve-unknown-fields']) return;
  if (Array.isArray(value)) {
    if (s.items) value.forEach((v, i) => collect(v, s.items!, `${path}[${i}]`, out));
    return;
  }
  if (!isObject(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const here = path === '' ? key : `${path}.${key}`;
    const declared = s.properties?.[key];
    if (declared) collect(v, declared, here, out);
    else if (isObject(s.additionalProperties)) collect(v, s.additionalProperties, here, out);
    else if (s.additionalProperties !== true && (s.properties !== undefined || s.type === 'object'))
      out.push(here);
  }
}

/** Paths (`spce`, `metadata.labelz`) of the fields of `object` that its kind's schema neither declares nor keeps. */
export function unknownFields(info: KindInfo, object: unknown): string[] {
  const schema = KIND_SCHEMAS[info.kind];
  if (!schema) return [];
  const out: string[] = [];
  collect(object, schema, '', out);
  return out;
}

/**
 * Applies the directive to the unknown fields of `object` (those already in `before`, the stored object a patch or
 * replace starts from, are not new and are let be): Strict rejects as Kubernetes does, Warn returns the warnings.
 */
export function checkFields(
  info: KindInfo,
  object: unknown,
  directive: FieldValidation,
  before?: unknown,
): string[] {
  if (directive === 'Ignore') return [];
  const known = new Set(before === undefined ? [] : unknownFields(info, before));
  const unknown = unknownFields(info, object).filter((f) => !known.has(f));
  if (unknown.length === 0) return [];
  const messages = unknown.map((f) => `unknown field "${f}"`);
  if (directive === 'Strict') {
    throw new BadRequest(
      `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${messages.join(', ')}`,
    );
  }
  return messages;
}
