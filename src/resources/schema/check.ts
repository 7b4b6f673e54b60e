// The type check a kind's schema gives, worded as kube-apiserver words a CRD's schema errors (one cause per field).
import type { TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import type { StatusCause } from '../errors.ts';
import { isObject } from '../meta.ts';
import { META_SCHEMAS } from './meta.ts';

/** The schema with each `#/components/schemas/NAME` reference replaced by the shared schema, and no `default`s. */
function inlined(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(inlined);
  if (!isObject(schema)) return schema;
  if (typeof schema.$ref === 'string') {
    const target = META_SCHEMAS[schema.$ref.replace('#/components/schemas/', '')];
    if (!target) throw new Error(`unresolved schema reference ${schema.$ref}`);
    return inlined(target);
  }
  const out: Record<string, unknown> = {};
  // Defaults are what kubectl explain shows; a check never fills them in.
  for (const [key, value] of Object.entries(schema))
    if (key !== 'default') out[key] = inlined(value);
  return out;
}

const compiled = new WeakMap<TSchema, Validator>();

/** The schema compiled once (TypeBox's JIT validator) and kept with it. */
export function validatorOf(schema: TSchema): Validator {
  let validator = compiled.get(schema);
  if (!validator) {
    // JSON round trip: TypeBox's own markers are not enumerable, so what is compiled is the JSON Schema published.
    validator = Compile(inlined(JSON.parse(JSON.stringify(schema))) as TSchema);
    compiled.set(schema, validator);
  }
  return validator;
}

/** `spec.template.spec.domain.devices.interfaces[0].macAddress` for the JSON pointer `/spec/…/interfaces/0/macAddress`. */
export function fieldOfPointer(pointer: string, value: unknown): string {
  let field = '';
  let at: unknown = value;
  for (const raw of pointer.split('/').slice(1)) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    field = Array.isArray(at) ? `${field}[${token}]` : field === '' ? token : `${field}.${token}`;
    at = isObject(at) || Array.isArray(at) ? (at as Record<string, unknown>)[token] : undefined;
  }
  return field;
}

/** The value at a JSON pointer (undefined where the path does not exist). */
export function valueAt(value: unknown, pointer: string): unknown {
  let at = value;
  for (const raw of pointer.split('/').slice(1)) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(at) && !Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[token];
  }
  return at;
}

/** The JSON type name kube-openapi prints for a value (`"string"`, `"integer"`, `"array"`, …). */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const quoted = (values: unknown[]): string => values.map((v) => JSON.stringify(v)).join(', ');

export interface SchemaError {
  /** JSON pointer into the checked value. */
  pointer: string;
  cause: StatusCause;
}

/**
 * Each place `value` breaks `schema`, worded as kube-apiserver's CRD validation words it: a wrong type is
 * FieldValueTypeInvalid (`spec.running in body must be of type boolean: "string"`), a missing required field
 * FieldValueRequired, a value outside an enum FieldValueNotSupported. Fields the schema does not declare are not
 * errors here (field validation prunes or refuses them), nor is a null (kube-apiserver drops a null of a field that is
 * not nullable before it validates).
 */
export function schemaErrors(schema: TSchema, value: unknown): SchemaError[] {
  const validator = validatorOf(schema);
  if (validator.Check(value)) return [];
  // One cause per field; an int-or-string's anyOf explains its branches' own type errors at the same place.
  const byPointer = new Map<string, SchemaError & { keyword: string }>();
  for (const error of validator.Errors(value)) {
    const pointer =
      error.keyword === 'required'
        ? `${error.instancePath}/${(error.params as { requiredProperties: string[] }).requiredProperties[0] ?? ''}`
        : error.instancePath;
    const at = valueAt(value, pointer);
    if (at === null) continue;
    const field = fieldOfPointer(pointer, value);
    const cause = causeOf(error.keyword, error.params, field, at);
    const known = byPointer.get(pointer);
    if (!cause || (known && error.keyword !== 'anyOf')) continue;
    byPointer.set(pointer, { pointer, cause, keyword: error.keyword });
  }
  return [...byPointer.values()].map(({ pointer, cause }) => ({ pointer, cause }));
}

function causeOf(
  keyword: string,
  params: object,
  field: string,
  at: unknown,
): StatusCause | undefined {
  const shown = field === '' ? 'body' : `${field} in body`;
  switch (keyword) {
    case 'type': {
      const want = (params as { type: string | string[] }).type;
      const type = Array.isArray(want) ? want.join(',') : want;
      const actual = JSON.stringify(typeName(at));
      return {
        reason: 'FieldValueTypeInvalid',
        message: `Invalid value: ${actual}: ${shown} must be of type ${type}: ${actual}`,
        field,
      };
    }
    case 'anyOf': {
      // An int-or-string quantity is the one anyOf of types in Harrow's schemas.
      const actual = JSON.stringify(typeName(at));
      return {
        reason: 'FieldValueTypeInvalid',
        message: `Invalid value: ${actual}: ${shown} must be of type integer,string: ${actual}`,
        field,
      };
    }
    case 'required':
      return { reason: 'FieldValueRequired', message: 'Required value', field };
    case 'enum':
      return {
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${JSON.stringify(at)}: supported values: ${quoted((params as { allowedValues: unknown[] }).allowedValues)}`,
        field,
      };
    default:
      // additionalProperties (a map value's own error is reported), format (informational here), and the rest.
      return undefined;
  }
}
