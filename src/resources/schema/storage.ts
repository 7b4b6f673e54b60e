// Persistent disks: CDI's DataVolume (cdi.kubevirt.io/v1beta1) and the core PersistentVolumeClaim, as TypeBox schemas.
import { Type, type Static } from 'typebox';
import { defaulted, kept, listOf, oneOf, open, quantity, str, stringMap } from './builders.ts';
import { conditions, kindRoot } from './meta.ts';

/** Storage a claim asks for: `resources.requests.storage` is the disk's size. */
export const StorageRequestSchema = open('The claim to create.', {
  accessModes: listOf(
    'ReadWriteOnce, ReadWriteMany, …',
    Type.String({ description: 'An access mode.' }),
  ),
  volumeMode: str('Filesystem or Block.'),
  storageClassName: str('Kept; Harrow has one kind of storage.'),
  resources: kept('Resources.', {
    requests: kept('Requests.', {
      storage: Type.Optional(quantity('The disk size, a quantity (10Gi).')),
    }),
  }),
  dataSource: kept('A claim to copy (kind PersistentVolumeClaim, name).', {
    kind: str('PersistentVolumeClaim.'),
    name: str('The source claim.'),
  }),
});
const storageRequest = (description: string) =>
  Type.Optional(
    Type.Unsafe<Static<typeof StorageRequestSchema>>({ ...StorageRequestSchema, description }),
  );

/** Where a DataVolume's content comes from (CDI's source kinds Harrow serves). */
export const DataVolumeSourceSchema = open(
  'Where the content comes from: exactly one of blank, registry, http, pvc.',
  {
    blank: kept('An empty disk.'),
    registry: kept('An image of the local image store.', {
      url: str('docker://REGISTRY/IMAGE:TAG: the store image with that name or alias.'),
    }),
    http: kept('An image of the local image store named by this URL (an alias).', {
      url: str('The URL the image was imported under.'),
    }),
    pvc: kept("A copy of another claim's disk.", {
      namespace: str('Namespace of the source claim (default: this one).'),
      name: Type.String({ description: 'Name of the source claim.' }),
    }),
  },
);

export const DataVolumeSpecSchema = open('The disk to make.', {
  source: Type.Optional(DataVolumeSourceSchema),
  sourceRef: kept('A CDI DataSource: in Harrow, the store image of that name or alias.', {
    kind: str('DataSource.'),
    name: Type.String({ description: 'Name of the DataSource (the image).' }),
    namespace: str('Namespace of the DataSource.'),
  }),
  storage: storageRequest("The claim to create (CDI's storage API)."),
  pvc: storageRequest('The claim to create (the PersistentVolumeClaim spec).'),
});

/** spec.dataVolumeTemplates[] of a VM. */
export const DataVolumeTemplateSchema = Type.Object(
  {
    apiVersion: str('API version of the DataVolume.'),
    kind: str('DataVolume.'),
    metadata: defaulted(
      open('Metadata of the DataVolume.', {
        name: Type.String({ description: 'Name of the DataVolume.' }),
        labels: Type.Optional(stringMap('Labels.')),
        annotations: Type.Optional(stringMap('Annotations.')),
      }),
    ),
    spec: Type.Unsafe<Static<typeof DataVolumeSpecSchema>>({
      ...DataVolumeSpecSchema,
      description: 'Spec of the DataVolume (CDI).',
    }),
    status: kept('Placeholder status.'),
  },
  { description: 'A DataVolume template.' },
);

export const DataVolumeSchema = kindRoot(
  'DataVolume',
  'DataVolume (cdi.kubevirt.io/v1beta1): a PersistentVolumeClaim of the same name and how to fill it (blank, an image of the local store, or a clone of another claim).',
  {
    spec: DataVolumeSpecSchema,
    status: kept('Progress of the fill.', {
      phase: str(
        'Pending, WaitForFirstConsumer, ImportInProgress, CloneInProgress, Succeeded or Failed.',
      ),
      progress: str('N/A or 100.0%.'),
      claimName: str('The PersistentVolumeClaim.'),
      conditions: conditions('DataVolume (Bound, Ready, Running)'),
    }),
  },
  { required: ['spec'] },
);

export const PersistentVolumeClaimSchema = kindRoot(
  'PersistentVolumeClaim',
  'PersistentVolumeClaim (v1): a persistent disk (a qcow2 in the data dir of the node that first runs a VM using it).',
  {
    spec: Type.Unsafe<Static<typeof StorageRequestSchema>>({
      ...StorageRequestSchema,
      description: 'The disk asked for.',
    }),
    status: kept('The disk as made.', {
      phase: Type.Optional(oneOf<'Pending' | 'Bound' | 'Lost'>('Pending (no disk yet) or Bound.')),
      capacity: kept('Its size.', { storage: str('A quantity.') }),
      accessModes: listOf('Access modes.', Type.String({ description: 'ReadWriteOnce, …' })),
      conditions: conditions('claim'),
    }),
  },
  { required: ['spec'] },
);
