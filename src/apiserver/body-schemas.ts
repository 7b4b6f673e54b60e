// Write routes' body schemas (the kind's TypeBox schema, a patch's own shape) and the compiler that checks bodies and
// query strings with them, answering as kube-apiserver does.
import type { FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { Invalid } from '../resources/errors.ts';
import type { KindInfo } from '../resources/kinds.ts';
import { isObject } from '../resources/meta.ts';
import { KIND_SCHEMAS } from '../resources/schema/by-kind.ts';
import { schemaErrors, validatorOf, valueAt, type SchemaError } from '../resources/schema/check.ts';
import { deepEqual } from './patch.ts';

const op = <O extends string>(name: O, fields: 'value' | 'from' | 'none') =>
  Type.Object({
    op: Type.Literal(name),
    path: Type.String(),
    ...(fields === 'value' ? { value: Type.Unknown() } : {}),
    ...(fields === 'from' ? { from: Type.String() } : {}),
  });

/** RFC 6902: a list of operations, each with what its op needs. */
export const JsonPatchSchema = Type.Array(
  Type.Union([
    op('add', 'value'),
    op('replace', 'value'),
    op('test', 'value'),
    op('remove', 'none'),
    op('move', 'from'),
    op('copy', 'from'),
  ]),
  { description: 'A JSON patch (RFC 6902).' },
);

/** A merge or strategic merge patch: a partial object of the kind. */
export const ObjectPatchSchema = Type.Object({}, { description: 'A (strategic) merge patch.' });

/** A server-side apply body: the applier's intent, a partial object that names its kind. */
export const ApplyPatchSchema = Type.Object(
  { apiVersion: Type.String(), kind: Type.String() },
  { description: 'The fields the applier owns, with apiVersion and kind.' },
);

/** The body schemas of a kind's PATCH route, by media type (the kind's schema checks the patched object). */
export const PATCH_BODY_SCHEMAS = {
  'application/json-patch+json': { schema: JsonPatchSchema },
  'application/merge-patch+json': { schema: ObjectPatchSchema },
  'application/strategic-merge-patch+json': { schema: ObjectPatchSchema },
  'application/apply-patch+yaml': { schema: ApplyPatchSchema },
} as const;

/** The body schema of a kind's create and replace routes: the kind's own. */
export function objectBodySchema(info: KindInfo): TSchema {
  const schema = KIND_SCHEMAS[info.kind];
  if (!schema) throw new Error(`no schema for the kind ${info.kind}`);
  return schema;
}

/**
 * What the route's body schema found in a JSON object or array body, kept until the handler reaches the point where
 * kube-apiserver would answer with it (after authorization and the identity checks; admission's own wording first).
 */
const bodyFindings = new WeakMap<object, SchemaError[]>();

/** Whether the request's body fits `schema`: what its route's validation found, or checked now if it did not run. */
export function bodyFits(request: FastifyRequest, schema: TSchema): boolean {
  const body = request.body;
  const found = typeof body === 'object' && body !== null ? bodyFindings.get(body) : undefined;
  return found !== undefined ? found.length === 0 : validatorOf(schema).Check(body);
}

/** Ajv's words for a query parameter's failure, which the querystring answers kept ("querystring/watch must be …"). */
function queryError(errors: Array<{ instancePath: string; message: string }>): Error {
  const first = errors[0]!;
  return Object.assign(new Error(`querystring${first.instancePath} ${first.message}`), {
    validation: errors,
  });
}

/**
 * The route's validator compiler: the body through its TypeBox schema (findings kept for the handler, never thrown
 * here: the order of kube-apiserver's answers is the handler's), the query string through its schema (a 400 at once).
 */
export const routeValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const validator = validatorOf(schema);
  if (httpPart === 'body')
    return (data: unknown) => {
      if (typeof data === 'object' && data !== null)
        bodyFindings.set(data, validator.Check(data) ? [] : schemaErrors(schema, data));
      // True leaves the part as it came (a `{ value }` would turn an absent body into null).
      return true;
    };
  return (data: unknown) => validator.Check(data) || { error: queryError(validator.Errors(data)) };
};

export interface SchemaCheck {
  /** The stored object a replace or patch starts from: a field it already had the same way is not refused again. */
  old?: unknown;
  /** Only the status (a /status write), or all but the status (a kind whose status is written through /status). */
  scope?: 'status' | 'main';
}

/**
 * The kind's schema over the object about to be written: a 422 Invalid naming each field, as kube-apiserver answers for
 * a CRD's schema. As its validation ratcheting does, a field unchanged from the stored object is not refused again.
 */
export function schemaRefusal(
  info: KindInfo,
  object: unknown,
  check: SchemaCheck = {},
): Invalid | undefined {
  const underStatus = (pointer: string): boolean =>
    pointer === '/status' || pointer.startsWith('/status/');
  const errors = schemaErrors(objectBodySchema(info), object).filter(
    ({ pointer }) =>
      (check.scope === undefined || underStatus(pointer) === (check.scope === 'status')) &&
      (check.old === undefined ||
        !deepEqual(valueAt(object, pointer), valueAt(check.old, pointer))),
  );
  if (errors.length === 0) return undefined;
  const name = isObject(object) && isObject(object.metadata) ? object.metadata.name : undefined;
  const shown = info.group === '' ? info.kind : `${info.kind}.${info.group}`;
  const each = errors.map(({ cause }) => `${cause.field}: ${cause.message}`);
  // apimachinery's aggregate: one error as is, several in brackets.
  return new Invalid(
    `${shown} "${typeof name === 'string' ? name : ''}" is invalid: ${each.length === 1 ? each[0] : `[${each.join(', ')}]`}`,
    errors.map(({ cause }) => cause),
    { name: typeof name === 'string' ? name : '', group: info.group, kind: info.kind },
  );
}
