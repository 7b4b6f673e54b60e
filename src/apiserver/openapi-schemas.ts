// OpenAPI v3 schemas of the served kinds: KubeVirt's from the TypeBox schemas in resources/, structural as KubeVirt's CRDs; every object that keeps unknown fields says so.
import type { TSchema } from 'typebox';
import { VmiSpecSchema, VmSpecSchema } from '../resources/kubevirt-schema.ts';

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
  $ref?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-group-version-kind'?: Array<{ group: string; version: string; kind: string }>;
  'x-kubernetes-list-type'?: 'atomic' | 'map' | 'set';
  'x-kubernetes-list-map-keys'?: string[];
}

/** A TypeBox schema as the plain OpenAPI object it is (TypeBox's own markers are not enumerable). */
const fromTypeBox = (schema: TSchema): Schema => JSON.parse(JSON.stringify(schema)) as Schema;

export const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
export const LIST_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta';
const OWNER_REFERENCE = 'io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference';
const MANAGED_FIELDS_ENTRY = 'io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry';

const str = (description: string, extra: Partial<Schema> = {}): Schema => ({
  type: 'string',
  description,
  ...extra,
});
const int = (description: string): Schema => ({ type: 'integer', format: 'int32', description });
const int64 = (description: string): Schema => ({ type: 'integer', format: 'int64', description });
const bool = (description: string): Schema => ({ type: 'boolean', description });
const stringMap = (description: string): Schema => ({
  type: 'object',
  description,
  additionalProperties: { type: 'string', default: '' },
});
/** A typed object that keeps fields it does not declare (KubeVirt has more of them than Harrow acts on). */
const open = (
  description: string,
  properties: Record<string, Schema> = {},
  required?: string[],
): Schema => ({
  type: 'object',
  description,
  ...(Object.keys(properties).length > 0 ? { properties } : {}),
  ...(required ? { required } : {}),
  'x-kubernetes-preserve-unknown-fields': true,
});
const list = (description: string, items: Schema, mapKey?: string): Schema => ({
  type: 'array',
  description,
  items,
  ...(mapKey
    ? { 'x-kubernetes-list-type': 'map' as const, 'x-kubernetes-list-map-keys': [mapKey] }
    : {}),
});
export const ref = (name: string, description: string): Schema => ({
  description,
  allOf: [{ $ref: `#/components/schemas/${name}` }],
  default: {},
});

const API_VERSION = str(
  'APIVersion defines the versioned schema of this representation of an object.',
);
const KIND = str(
  'Kind is a string value representing the REST resource this object represents. In CamelCase.',
);
const METADATA = ref(OBJECT_META, "Standard object's metadata.");

const conditions = (of: string): Schema =>
  list(
    `Conditions of the ${of}.`,
    open(
      'A condition.',
      {
        type: str('Type of the condition (Ready, RestartRequired, …).'),
        status: str('True, False or Unknown.'),
        reason: str('A CamelCase reason for the last transition.'),
        message: str('A human-readable message about the last transition.'),
        lastTransitionTime: str('When the status last changed.', { format: 'date-time' }),
        lastProbeTime: str('When the condition was last probed.', { format: 'date-time' }),
      },
      ['type', 'status'],
    ),
  );

const vmSpecSchema = fromTypeBox(VmSpecSchema);
const vmiSpecSchema = fromTypeBox(VmiSpecSchema);

const vmStatusSchema = open('The observed state of the VirtualMachine (written by Harrow).', {
  printableStatus: str(
    'Stopped, Starting, Running, Stopping, Terminating, CrashLoopBackOff, ErrorUnschedulable, …',
  ),
  ready: bool('Whether its instance is running and ready.'),
  created: bool('Whether its instance exists.'),
  conditions: conditions('VirtualMachine (Ready, RestartRequired, …)'),
});

const vmiStatusSchema = open('The observed state of the instance (written by Harrow).', {
  phase: str('Pending, Scheduling, Scheduled, Running, Succeeded, Failed or Unknown.'),
  nodeName: str('The node running the instance.'),
  conditions: conditions('instance (Ready, GuestMACMismatch, …)'),
  interfaces: list(
    'The interfaces as the platform and the guest report them.',
    open('One interface.', {
      name: str('The spec interface name.'),
      mac: str("The platform's MAC (the pod interface's)."),
      podInterfaceName: str('The interface in the launcher pod.'),
      interfaceName: str('The interface name inside the guest (guest agent).'),
      ipAddress: str('The primary IP address the guest reports.'),
      ipAddresses: list('Every IP address the guest reports.', { type: 'string' }),
      infoSource: str('Where the entry comes from: domain, guest-agent, or both.'),
      guestMac: str("Harrow: the MAC the guest's NIC uses (QMP rx-filter)."),
      guestMacMismatch: open(
        "Harrow: set while the guest uses a MAC other than the platform's; messages are rendered from it.",
        {
          platformMac: str("The pod interface's MAC (what the spoof check lets through)."),
          guestMac: str('The MAC the guest uses.'),
          since: str('When the observer first saw it.', { format: 'date-time' }),
          cause: str(
            "Why they differ: GuestChangedMAC, or GuestOSConfiguration when the drift survived a restart (the guest's OS sets it at boot).",
          ),
          setBy: open(
            "With GuestOSConfiguration: the guest's configuration line that sets the MAC.",
            {
              path: str('The file in the guest.'),
              line: { type: 'integer', description: 'The line number.' },
              text: str('The line.'),
            },
          ),
          heldBy: open(
            'Another VM holding the guest MAC in the pool (named only when in the same namespace).',
            {
              namespace: str('same or other.'),
              name: str('The holder VM, in the same namespace.'),
              interface: str("The holder VM's interface."),
            },
          ),
          remedies: list(
            'What can be done, each one API call on the VM.',
            open('One remedy.', {
              action: str('restore-mac or adopt-guest-mac (subresources.harrow.io/v1).'),
              macAddress: str("The interface's MAC once applied."),
              available: bool(
                'Whether it is offered now (adopt: no other VM holds the MAC; restore: the guest OS does not set it).',
              ),
              takesEffect: str('now or next-restart.'),
            }),
          ),
        },
      ),
    }),
  ),
});

/** A kind's root schema: apiVersion, kind, metadata and the kind's own fields. */
const root = (
  description: string,
  properties: Record<string, Schema>,
  required?: string[],
): Schema => ({
  type: 'object',
  description,
  properties: { apiVersion: API_VERSION, kind: KIND, metadata: METADATA, ...properties },
  ...(required ? { required } : {}),
});

const storageRequest = (description: string): Schema =>
  open(description, {
    accessModes: list('ReadWriteOnce, ReadWriteMany, …', str('An access mode.')),
    volumeMode: str('Filesystem or Block.'),
    storageClassName: str('Kept; Harrow has one kind of storage.'),
    resources: open('Resources.', {
      requests: open('Requests.', {
        storage: {
          description: 'The disk size, a quantity (10Gi).',
          anyOf: [{ type: 'integer' }, { type: 'string' }],
          'x-kubernetes-int-or-string': true,
        },
      }),
    }),
    dataSource: open('A claim to copy (kind PersistentVolumeClaim, name).', {
      kind: str('PersistentVolumeClaim.'),
      name: str('The source claim.'),
    }),
  });

const genericSpec = open('Specification of the object.');
const genericStatus = open('Observed state of the object.');

/** Per kind: the root schema (apiVersion, kind, metadata are added). */
export const KIND_SCHEMAS: Record<string, Schema> = {
  VirtualMachine: root(
    "VirtualMachine (kubevirt.io/v1) handles a virtual machine: its runStrategy decides whether an instance runs; the template is what runs. Harrow assigns and keeps each interface's MAC.",
    { spec: vmSpecSchema, status: vmStatusSchema },
    ['spec'],
  ),
  VirtualMachineInstance: root(
    'VirtualMachineInstance (kubevirt.io/v1) is a running virtual machine.',
    { spec: vmiSpecSchema, status: vmiStatusSchema },
    ['spec'],
  ),
  VirtualMachineClone: root(
    'VirtualMachineClone (clone.kubevirt.io) clones a VirtualMachine; clones get new MACs.',
    {
      spec: open('What to clone.', {
        source: open('The VM to clone.', {
          apiGroup: str('API group.'),
          kind: str('Kind.'),
          name: str('Name.'),
        }),
        target: open('The VM to create.', {
          apiGroup: str('API group.'),
          kind: str('Kind.'),
          name: str('Name.'),
        }),
        newMacAddresses: stringMap(
          'MACs for the clone, by interface name (otherwise new ones are allocated).',
        ),
      }),
      status: genericStatus,
    },
  ),
  NetworkAttachmentDefinition: root(
    'NetworkAttachmentDefinition (k8s.cni.cncf.io/v1) describes a Multus network by its CNI configuration.',
    {
      spec: open('The network.', {
        config: str(
          'The CNI configuration as JSON (Harrow reads type "bridge", vlan and the ipam range).',
        ),
      }),
    },
  ),
  MacPool: root(
    'MacPool (harrow.io/v1): ranges of MACs Harrow allocates from, and how long a released MAC is quarantined.',
    {
      spec: open('The pool.', {
        ranges: list(
          'Ranges of MACs, inclusive.',
          open('A range.', { start: str('First MAC.'), end: str('Last MAC.') }, ['start', 'end']),
        ),
        quarantineSeconds: int('Seconds a released MAC waits before reuse.'),
      }),
      status: open('Pool usage, kept current by Harrow from the MacAllocations.', {
        capacity: int64(
          'Addresses the pool may hand out (multicast and reserved addresses excluded).',
        ),
        allocated: int64('Addresses in use.'),
        quarantined: int64('Released addresses not yet reusable.'),
        outsideRanges: int64(
          'Addresses held (in use or quarantined) outside every range of every MacPool, e.g. user-chosen MACs; the same cluster-wide figure on every pool.',
        ),
        ranges: list(
          'The same figures per range, in spec.ranges order.',
          open('One range.', {
            start: str('First MAC.'),
            end: str('Last MAC.'),
            capacity: int64('Addresses of this range the pool may hand out.'),
            allocated: int64('Addresses of this range in use.'),
            quarantined: int64('Addresses of this range in quarantine.'),
          }),
        ),
        observedGeneration: int64('The metadata.generation these figures were computed for.'),
      }),
    },
  ),
  MacAllocation: root(
    'MacAllocation (harrow.io/v1, read-only): one MAC in use or in quarantine, and who holds it.',
    {
      spec: open('The MAC and its holder.', {
        macAddress: str('The MAC.'),
        pool: str('The pool it came from (empty outside every range).'),
        owner: open('The holder.', {
          kind: str('Kind.'),
          namespace: str('Namespace.'),
          name: str('Name.'),
          uid: str('UID.'),
          interface: str('Interface name.'),
        }),
      }),
      status: open('State.', {
        state: str('InUse or Quarantined.'),
        quarantineUntil: str('End of quarantine.', { format: 'date-time' }),
        releasedAt: str('When it was released.', { format: 'date-time' }),
      }),
    },
  ),
  VirtualMachineImage: root(
    'VirtualMachineImage (harrow.io/v1, read-only): a disk image in the local image store, named by containerDisk volumes (by name or alias); managed with `harrow image`.',
    {
      spec: open('The image.', {
        aliases: list(
          'Other names manifests may use, e.g. quay.io/containerdisks/debian:12.',
          str('An image reference.'),
        ),
        source: str('Where it came from (build:debian, import:FILE).'),
        packages: list(
          'Debian packages a built image was made from (name=version).',
          str('name=version'),
        ),
      }),
      status: open('The stored file.', {
        phase: str('Ready.'),
        format: str('raw or qcow2.'),
        virtualSizeBytes: int('Disk size the guest sees, in bytes.'),
        boot: str(
          'firmware (its own boot loader) or kernel (the host cloud kernel, root=/dev/vda).',
        ),
        contentKey: str('Content key of a built image (recipe and package versions).'),
        imported: str('When it entered the store.', { format: 'date-time' }),
      }),
    },
  ),
  DataVolume: root(
    'DataVolume (cdi.kubevirt.io/v1beta1): a PersistentVolumeClaim of the same name and how to fill it (blank, an image of the local store, or a clone of another claim).',
    {
      spec: open('The disk to make.', {
        source: open('Where the content comes from: exactly one of blank, registry, http, pvc.', {
          blank: open('An empty disk.'),
          registry: open('An image of the local image store.', {
            url: str('docker://REGISTRY/IMAGE:TAG: the store image with that name or alias.'),
          }),
          http: open('An image of the local image store named by this URL (an alias).', {
            url: str('The URL the image was imported under.'),
          }),
          pvc: open("A copy of another claim's disk.", {
            namespace: str('Namespace of the source claim (default: this one).'),
            name: str('Name of the source claim.'),
          }),
        }),
        storage: storageRequest("The claim to create (CDI's storage API)."),
        pvc: storageRequest('The claim to create (the PersistentVolumeClaim spec).'),
      }),
      status: open('Progress of the fill.', {
        phase: str(
          'Pending, WaitForFirstConsumer, ImportInProgress, CloneInProgress, Succeeded or Failed.',
        ),
        progress: str('N/A or 100.0%.'),
        claimName: str('The PersistentVolumeClaim.'),
        conditions: conditions('DataVolume (Bound, Ready, Running)'),
      }),
    },
    ['spec'],
  ),
  PersistentVolumeClaim: root(
    'PersistentVolumeClaim (v1): a persistent disk (a qcow2 in the data dir of the node that first runs a VM using it).',
    {
      spec: storageRequest('The disk asked for.'),
      status: open('The disk as made.', {
        phase: str('Pending (no disk yet) or Bound.'),
        capacity: open('Its size.', { storage: str('A quantity.') }),
        accessModes: list('Access modes.', str('ReadWriteOnce, …')),
      }),
    },
    ['spec'],
  ),
  AuditRecord: root('AuditRecord (harrow.io/v1, append-only): who changed what, and the outcome.', {
    spec: genericSpec,
  }),
  ApiToken: root("ApiToken (harrow.io/v1): a user's API token, stored by its SHA-256 only.", {
    spec: genericSpec,
    status: genericStatus,
  }),
  Pod: root('Pod (v1): the launcher pod of a VM instance.', {
    spec: genericSpec,
    status: genericStatus,
  }),
  Namespace: root('Namespace (v1) scopes names.', { spec: genericSpec, status: genericStatus }),
  Node: root('Node (v1): a host that runs VM instances.', {
    spec: genericSpec,
    status: genericStatus,
  }),
  Event: root('Event (v1): something that happened to an object.', {
    involvedObject: open('The object the event is about.', {
      kind: str('Kind.'),
      namespace: str('Namespace.'),
      name: str('Name.'),
      uid: str('UID.'),
      apiVersion: str('API version.'),
    }),
    reason: str('A CamelCase reason.'),
    message: str('What happened.'),
    type: str('Normal or Warning.'),
    count: int('How many times it happened.'),
    firstTimestamp: str('First time.', { format: 'date-time' }),
    lastTimestamp: str('Last time.', { format: 'date-time' }),
    eventTime: str('When it happened (micro-time).', { format: 'date-time' }),
    source: open('Who reported it.', { component: str('Component.'), host: str('Host.') }),
    reportingComponent: str('Reporting component.'),
    reportingInstance: str('Reporting instance.'),
    reportingController: str('Reporting controller (events.k8s.io name of reportingComponent).'),
    action: str('Action taken.'),
    series: open('Series of repeated events.'),
    related: open('A second object.'),
  }),
};

/** Shared meta types, as Kubernetes names them (every group/version document carries the ones it refers to). */
export const META_SCHEMAS: Record<string, Schema> = {
  [OBJECT_META]: {
    type: 'object',
    description: 'ObjectMeta is metadata that all persisted resources must have.',
    properties: {
      name: str('Name, unique within a namespace. A DNS-1123 label for most kinds.'),
      generateName: str('A prefix the server completes to a unique name when name is empty.'),
      namespace: str('The namespace; empty for cluster-scoped kinds.'),
      uid: str('Unique ID, set by the server.'),
      resourceVersion: str('Version of the object, for optimistic concurrency; set by the server.'),
      generation: {
        type: 'integer',
        format: 'int64',
        description: 'Generation of the desired state; set by the server.',
      },
      creationTimestamp: str('When the object was created; set by the server.', {
        format: 'date-time',
      }),
      deletionTimestamp: str('When the object will be deleted; set by the server.', {
        format: 'date-time',
      }),
      deletionGracePeriodSeconds: {
        type: 'integer',
        format: 'int64',
        description: 'Grace period of a pending deletion.',
      },
      labels: stringMap('Labels for selection.'),
      annotations: stringMap('Annotations: unstructured key-value data.'),
      ownerReferences: list(
        'Objects this one depends on.',
        { default: {}, allOf: [{ $ref: `#/components/schemas/${OWNER_REFERENCE}` }] },
        'uid',
      ),
      finalizers: {
        ...list('Must be empty before the object is deleted.', { type: 'string', default: '' }),
        'x-kubernetes-list-type': 'set',
      },
      managedFields: list('Which manager set which fields.', {
        default: {},
        allOf: [{ $ref: `#/components/schemas/${MANAGED_FIELDS_ENTRY}` }],
      }),
    },
  },
  [OWNER_REFERENCE]: {
    type: 'object',
    description: 'An object this one depends on.',
    required: ['apiVersion', 'kind', 'name', 'uid'],
    properties: {
      apiVersion: str('API version of the referent.', { default: '' }),
      kind: str('Kind of the referent.', { default: '' }),
      name: str('Name of the referent.', { default: '' }),
      uid: str('UID of the referent.', { default: '' }),
      controller: bool('Whether the referent manages this object.'),
      blockOwnerDeletion: bool(
        'Whether the referent waits for this object on foreground deletion.',
      ),
    },
  },
  [MANAGED_FIELDS_ENTRY]: {
    type: 'object',
    description: 'The fields a manager set.',
    properties: {
      manager: str('Manager name.'),
      operation: str('Apply or Update.'),
      apiVersion: str('API version of the fields.'),
      time: str('When.', { format: 'date-time' }),
      fieldsType: str('Format of fieldsV1.'),
      // A trie of field paths (FieldsV1) whose keys are the paths themselves: no fixed properties to prune to.
      fieldsV1: {
        type: 'object',
        description: 'The fields.',
        'x-kubernetes-preserve-unknown-fields': true,
      },
      subresource: str('Subresource the fields were set through.'),
    },
  },
  [LIST_META]: {
    type: 'object',
    description: 'ListMeta describes a list.',
    properties: {
      resourceVersion: str('Version of the list, to watch from.'),
      continue: str('Token for the next page.'),
      remainingItemCount: {
        type: 'integer',
        format: 'int64',
        description: 'Items after this page.',
      },
    },
  },
};
