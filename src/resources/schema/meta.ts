// Kubernetes' shared meta types (ObjectMeta, OwnerReference, ManagedFieldsEntry, ListMeta, Condition) and the root every kind is built on.
import {
  Type,
  type Static,
  type TObject,
  type TProperties,
  type TSchema,
  type TUnsafe,
} from 'typebox';
import {
  API_VERSION,
  bool,
  dateTime,
  defaulted,
  kindField,
  listOf,
  mapListOf,
  oneOf,
  open,
  PRESERVE,
  refTo,
  str,
  stringMap,
  type Open,
} from './builders.ts';

export const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
export const LIST_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta';
export const OWNER_REFERENCE = 'io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference';
export const MANAGED_FIELDS_ENTRY = 'io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry';

/** FieldsV1: a trie of path elements (src/apiserver/field-manager/field-set.ts reads and writes it). */
export interface FieldsTrie {
  [element: string]: FieldsTrie;
}

export const OwnerReferenceSchema = Type.Object(
  {
    apiVersion: Type.String({ description: 'API version of the referent.', default: '' }),
    kind: Type.String({ description: 'Kind of the referent.', default: '' }),
    name: Type.String({ description: 'Name of the referent.', default: '' }),
    uid: Type.String({ description: 'UID of the referent.', default: '' }),
    controller: bool('Whether the referent manages this object.'),
    blockOwnerDeletion: bool('Whether the referent waits for this object on foreground deletion.'),
  },
  { description: 'An object this one depends on.' },
);

export const ManagedFieldsEntrySchema = Type.Object(
  {
    manager: str('Manager name.'),
    operation: str('Apply or Update.'),
    apiVersion: str('API version of the fields.'),
    time: dateTime('When.'),
    fieldsType: str('Format of fieldsV1.'),
    // A trie of field paths (FieldsV1) whose keys are the paths themselves: no fixed properties to prune to.
    fieldsV1: Type.Optional(
      Type.Unsafe<FieldsTrie>({ type: 'object', description: 'The fields.', ...PRESERVE }),
    ),
    subresource: str('Subresource the fields were set through.'),
  },
  { description: 'The fields a manager set.' },
);

const metaProperties = {
  name: defaulted(
    Type.String({
      description: 'Name, unique within a namespace. A DNS-1123 label for most kinds.',
    }),
  ),
  generateName: str('A prefix the server completes to a unique name when name is empty.'),
  namespace: str('The namespace; empty for cluster-scoped kinds.'),
  uid: str('Unique ID, set by the server.'),
  resourceVersion: str('Version of the object, for optimistic concurrency; set by the server.'),
  generation: Type.Optional(
    Type.Integer({
      format: 'int64',
      description: 'Generation of the desired state; set by the server.',
    }),
  ),
  creationTimestamp: dateTime('When the object was created; set by the server.'),
  deletionTimestamp: dateTime('When the object will be deleted; set by the server.'),
  deletionGracePeriodSeconds: Type.Optional(
    Type.Integer({ format: 'int64', description: 'Grace period of a pending deletion.' }),
  ),
  labels: Type.Optional(stringMap('Labels for selection.', { default: '' })),
  annotations: Type.Optional(
    stringMap('Annotations: unstructured key-value data.', { default: '' }),
  ),
  ownerReferences: mapListOf(
    'Objects this one depends on.',
    refTo(OWNER_REFERENCE, OwnerReferenceSchema),
    'uid',
  ),
  finalizers: Type.Optional(
    Type.Array(Type.String({ default: '' }), {
      description: 'Must be empty before the object is deleted.',
      'x-kubernetes-list-type': 'set',
    }),
  ),
  managedFields: listOf(
    'Which manager set which fields.',
    refTo(MANAGED_FIELDS_ENTRY, ManagedFieldsEntrySchema),
  ),
};
// ObjectMeta is structural (a misspelt `labelz` is unknown), but the type keeps whatever else a stored object carries.
export const ObjectMetaSchema = Type.Unsafe<Open<Static<TObject<typeof metaProperties>>>>(
  Type.Object(metaProperties, {
    description: 'ObjectMeta is metadata that all persisted resources must have.',
  }),
);

export const ListMetaSchema = Type.Object(
  {
    resourceVersion: str('Version of the list, to watch from.'),
    continue: str('Token for the next page.'),
    remainingItemCount: Type.Optional(
      Type.Integer({ format: 'int64', description: 'Items after this page.' }),
    ),
  },
  { description: 'ListMeta describes a list.' },
);

/** Shared meta types, as Kubernetes names them (every group/version document carries the ones it refers to). */
export const META_SCHEMAS: Record<string, TSchema> = {
  [OBJECT_META]: ObjectMetaSchema,
  [OWNER_REFERENCE]: OwnerReferenceSchema,
  [MANAGED_FIELDS_ENTRY]: ManagedFieldsEntrySchema,
  [LIST_META]: ListMetaSchema,
};

export const ConditionSchema = open('A condition.', {
  type: Type.String({ description: 'Type of the condition (Ready, RestartRequired, …).' }),
  status: oneOf<'True' | 'False' | 'Unknown'>('True, False or Unknown.'),
  reason: str('A CamelCase reason for the last transition.'),
  message: str('A human-readable message about the last transition.'),
  lastTransitionTime: dateTime('When the status last changed.'),
  lastProbeTime: Type.Optional(
    Type.Unsafe<string | null>({
      type: 'string',
      format: 'date-time',
      nullable: true,
      description: 'When the condition was last probed.',
    }),
  ),
});
export const conditions = (of: string) => listOf(`Conditions of the ${of}.`, ConditionSchema);

type Root<K extends string, P extends TProperties> = Open<
  { apiVersion: string; kind: K; metadata: Static<typeof ObjectMetaSchema> } & Static<TObject<P>>
>;

/**
 * A kind's root schema: apiVersion, kind, metadata and the kind's own fields. Its type is what the store holds (every
 * object has apiVersion, kind and metadata; a field marked `defaulted` is always there); `required` in the schema is
 * what a request must send.
 */
export function kindRoot<K extends string, P extends TProperties>(
  kind: K,
  description: string,
  properties: P,
  options: { required?: string[]; preserve?: boolean } = {},
): TUnsafe<Root<K, P>> {
  return Type.Unsafe<Root<K, P>>({
    type: 'object',
    description,
    properties: {
      apiVersion: API_VERSION,
      kind: kindField(kind),
      metadata: refTo(OBJECT_META, ObjectMetaSchema, "Standard object's metadata."),
      ...properties,
    },
    ...(options.required ? { required: options.required } : {}),
    ...(options.preserve ? PRESERVE : {}),
  });
}
