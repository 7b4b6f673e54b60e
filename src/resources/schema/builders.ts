// The few TypeBox shapes every kind's schema is built from, each emitting the JSON Schema Kubernetes publishes.
import {
  Type,
  type Static,
  type TObject,
  type TProperties,
  type TSchema,
  type TUnsafe,
} from 'typebox';

export const PRESERVE = { 'x-kubernetes-preserve-unknown-fields': true } as const;

/** An object type that keeps the fields it does not declare, as the object it describes does. */
export type Open<T> = T & { [field: string]: unknown };

export const str = (description: string, extra: Record<string, unknown> = {}) =>
  Type.Optional(Type.String({ description, ...extra }));
export const dateTime = (description: string) => str(description, { format: 'date-time' });
export const int = (description: string, format: 'int32' | 'int64' = 'int32') =>
  Type.Optional(Type.Integer({ description, format }));
export const int64 = (description: string) => int(description, 'int64');
export const bool = (description: string) => Type.Optional(Type.Boolean({ description }));

/** A string with a closed set of values Harrow writes (phases, causes): the type names them, the schema a string. */
export const oneOf = <T extends string>(description: string) =>
  Type.Unsafe<T>(Type.String({ description }));

/** A Kubernetes quantity (`1Gi`, `2`): an integer or a string. */
export const quantity = (description: string) =>
  Type.Unsafe<string | number>({
    description,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    'x-kubernetes-int-or-string': true,
  });
export const stringMap = (description: string, extra: Record<string, unknown> = {}) =>
  Type.Unsafe<Record<string, string>>({
    type: 'object',
    description,
    additionalProperties: { type: 'string', ...extra },
  });
export const quantityMap = (description: string) =>
  Type.Unsafe<Record<string, string | number>>({
    type: 'object',
    description,
    additionalProperties: quantity('A quantity.'),
  });

/** An object KubeVirt declares with no fields (`bridge: {}`): any field inside it is unknown. */
export const empty = (description: string) =>
  Type.Optional(Type.Unsafe<Record<string, never>>(Type.Object({}, { description })));

/** An object that keeps every field it does not declare (`x-kubernetes-preserve-unknown-fields`). */
export const open = <P extends TProperties>(
  description: string,
  properties: P = {} as P,
): TUnsafe<Open<Static<TObject<P>>>> =>
  Type.Unsafe<Open<Static<TObject<P>>>>(Type.Object(properties, { description, ...PRESERVE }));

/** A shape Harrow does not act on, as an optional field: typed where it helps `kubectl explain`, every other field kept. */
export const kept = <P extends TProperties>(description: string, properties: P = {} as P) =>
  Type.Optional(open(description, properties));

export const listOf = <T extends TSchema>(description: string, items: T) =>
  Type.Optional(Type.Array(items, { description }));
/** A list whose items are keyed by `name` (server-side apply merges them by it). */
export const mapListOf = <T extends TSchema>(description: string, items: T, key = 'name') =>
  Type.Optional(
    Type.Array(items, {
      description,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': [key],
    }),
  );
export const localObjectReference = (description: string) =>
  Type.Optional(
    Type.Object({ name: Type.String({ description: 'Name of the referent.' }) }, { description }),
  );

/**
 * Alternatives of one object (a discriminated union): the TypeScript type is the union; the schema is one structural
 * object with every alternative's fields, as Kubernetes requires (no anyOf of object types in a structural schema).
 */
export const variants = <T extends TObject[]>(description: string, alternatives: [...T]) => {
  const properties: TProperties = {};
  for (const alternative of alternatives)
    for (const [key, schema] of Object.entries(alternative.properties))
      properties[key] ??= Type.Optional(schema);
  return Type.Unsafe<Static<T[number]>>(Type.Object(properties, { description, ...PRESERVE }));
};

/** A reference to a shared schema by name (`#/components/schemas/NAME`), typed as that schema's value. */
export const refTo = <T extends TSchema>(name: string, _target: T, description?: string) =>
  Type.Unsafe<Static<T>>({
    ...(description !== undefined ? { description } : {}),
    allOf: [{ $ref: `#/components/schemas/${name}` }],
    default: {},
  });

export const API_VERSION = Type.String({
  description: 'APIVersion defines the versioned schema of this representation of an object.',
});
/** `kind`: a string in the schema, the kind's own name in the type. */
export const kindField = <K extends string>(_kind: K) =>
  Type.Unsafe<K>(
    Type.String({
      description:
        'Kind is a string value representing the REST resource this object represents. In CamelCase.',
    }),
  );

/**
 * A field every stored object has (the server sets or defaults it) that a request may leave out: optional in the
 * schema a request is checked against, present in the type of what the store holds.
 */
export const defaulted = <T extends TSchema>(schema: T): T => Type.Optional(schema) as unknown as T;
