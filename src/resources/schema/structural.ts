// The structural check a kind's schema gives: the fields of an object that the schema neither declares nor keeps.
import type { TSchema } from 'typebox';
import { isObject } from '../meta.ts';
import { KIND_SCHEMAS } from './by-kind.ts';
import { META_SCHEMAS } from './meta.ts';

/** The JSON Schema keywords the walk reads (TypeBox schemas are these objects). */
interface Structural {
  $ref?: string;
  allOf?: Structural[];
  type?: string;
  properties?: Record<string, Structural>;
  items?: Structural;
  additionalProperties?: Structural | boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

function resolve(schema: Structural): Structural {
  const target = schema.$ref ?? (schema.allOf?.length === 1 ? schema.allOf[0]!.$ref : undefined);
  if (target === undefined) return schema;
  const resolved = META_SCHEMAS[target.replace('#/components/schemas/', '')];
  if (!resolved) throw new Error(`unresolved schema reference ${target}`);
  return resolved as Structural;
}

/** Walks `value` along `schema`, calling `found` with the path, parent object and key of each field it does not know. */
function walk(
  value: unknown,
  schema: Structural,
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

/** Each field of `object` its kind's schema neither declares nor keeps: its path (`spce`, `metadata.labelz`), parent and key. */
export function unknownFieldsOf(
  kind: string,
  object: unknown,
): Array<{ path: string; parent: Record<string, unknown>; key: string }> {
  const schema: TSchema | undefined = KIND_SCHEMAS[kind];
  if (!schema) return [];
  const out: Array<{ path: string; parent: Record<string, unknown>; key: string }> = [];
  walk(object, schema as Structural, '', (path, parent, key) => out.push({ path, parent, key }));
  return out;
}
