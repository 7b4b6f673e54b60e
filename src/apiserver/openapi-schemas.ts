// OpenAPI v3 schemas of the served kinds, as the plain JSON their TypeBox schemas (src/resources/schema/) already are.
import type { TSchema } from 'typebox';
import { KIND_SCHEMAS as KIND_TYPEBOX } from '../resources/schema/by-kind.ts';
import { LIST_META, META_SCHEMAS as META_TYPEBOX, OBJECT_META } from '../resources/schema/meta.ts';

export { LIST_META, OBJECT_META };

/** An OpenAPI v3 schema object (the subset Kubernetes publishes). */
export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  format?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  allOf?: Schema[];
  anyOf?: Schema[];
  enum?: string[];
  default?: unknown;
  nullable?: boolean;
  $ref?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-group-version-kind'?: Array<{ group: string; version: string; kind: string }>;
  'x-kubernetes-list-type'?: 'atomic' | 'map' | 'set';
  'x-kubernetes-list-map-keys'?: string[];
}

/** A TypeBox schema as the plain OpenAPI object it is (TypeBox's own markers are not enumerable). */
export const fromTypeBox = (schema: TSchema): Schema =>
  JSON.parse(JSON.stringify(schema)) as Schema;

const plain = (schemas: Readonly<Record<string, TSchema>>): Record<string, Schema> =>
  Object.fromEntries(Object.entries(schemas).map(([name, s]) => [name, fromTypeBox(s)]));

/** Per kind: the root schema (apiVersion, kind, metadata and the kind's own fields). */
export const KIND_SCHEMAS: Record<string, Schema> = plain(KIND_TYPEBOX);

/** Shared meta types, as Kubernetes names them (every group/version document carries the ones it refers to). */
export const META_SCHEMAS: Record<string, Schema> = plain(META_TYPEBOX);

export const ref = (name: string, description: string): Schema => ({
  description,
  allOf: [{ $ref: `#/components/schemas/${name}` }],
  default: {},
});
