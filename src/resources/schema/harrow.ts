// Harrow's own kinds (harrow.io/v1: MacPool, MacAllocation, VirtualMachineImage, AuditRecord, ApiToken) as TypeBox schemas.
import { Type } from 'typebox';
import { dateTime, defaulted, int64, kept, listOf, oneOf, open, str } from './builders.ts';
import { ConnectivityResultSchema } from './kubevirt.ts';
import { kindRoot } from './meta.ts';

export const MacRangeSchema = open('A range.', {
  start: Type.String({ description: 'First MAC.' }),
  end: Type.String({ description: 'Last MAC.' }),
});

/** One range's figures in a MacPool's status. */
export const MacRangeStatusSchema = open('One range.', {
  start: Type.String({ description: 'First MAC.' }),
  end: Type.String({ description: 'Last MAC.' }),
  capacity: Type.Integer({
    format: 'int64',
    description: 'Addresses of this range the pool may hand out.',
  }),
  allocated: Type.Integer({ format: 'int64', description: 'Addresses of this range in use.' }),
  quarantined: Type.Integer({
    format: 'int64',
    description: 'Addresses of this range in quarantine.',
  }),
});

/** Kept current by the macpool-status controller from the MacAllocations. */
export const MacPoolStatusSchema = open(
  'Pool usage, kept current by Harrow from the MacAllocations.',
  {
    capacity: defaulted(
      Type.Integer({
        format: 'int64',
        description: 'Addresses the pool may hand out (multicast and reserved addresses excluded).',
      }),
    ),
    allocated: defaulted(Type.Integer({ format: 'int64', description: 'Addresses in use.' })),
    quarantined: defaulted(
      Type.Integer({ format: 'int64', description: 'Released addresses not yet reusable.' }),
    ),
    outsideRanges: defaulted(
      Type.Integer({
        format: 'int64',
        description:
          'Addresses held (in use or quarantined) outside every range of every MacPool, e.g. user-chosen MACs; the same cluster-wide figure on every pool.',
      }),
    ),
    ranges: defaulted(
      Type.Array(MacRangeStatusSchema, {
        description: 'The same figures per range, in spec.ranges order.',
      }),
    ),
    observedGeneration: int64('The metadata.generation these figures were computed for.'),
  },
);

export const MacPoolSchema = kindRoot(
  'MacPool',
  'MacPool (harrow.io/v1): ranges of MACs Harrow allocates from, and how long a released MAC is quarantined.',
  {
    spec: defaulted(
      open('The pool.', {
        ranges: defaulted(
          Type.Array(MacRangeSchema, { description: 'Ranges of MACs, inclusive.' }),
        ),
        quarantineSeconds: Type.Optional(
          Type.Integer({
            format: 'int32',
            description: 'Seconds a released MAC waits before reuse.',
          }),
        ),
      }),
    ),
    status: Type.Optional(MacPoolStatusSchema),
  },
);

export const MacAllocationOwnerSchema = open('The holder.', {
  kind: defaulted(Type.String({ description: 'Kind.' })),
  namespace: defaulted(Type.String({ description: 'Namespace.' })),
  name: defaulted(Type.String({ description: 'Name.' })),
  uid: str('UID.'),
  interface: defaulted(Type.String({ description: 'Interface name.' })),
});

export const MacAllocationSchema = kindRoot(
  'MacAllocation',
  'MacAllocation (harrow.io/v1, read-only): one MAC in use or in quarantine, and who holds it.',
  {
    spec: defaulted(
      open('The MAC and its holder.', {
        macAddress: defaulted(Type.String({ description: 'The MAC.' })),
        pool: defaulted(
          Type.String({ description: 'The pool it came from (empty outside every range).' }),
        ),
        owner: defaulted(MacAllocationOwnerSchema),
      }),
    ),
    status: defaulted(
      open('State.', {
        state: defaulted(oneOf<'InUse' | 'Quarantined'>('InUse or Quarantined.')),
        quarantineUntil: dateTime('End of quarantine.'),
        releasedAt: dateTime('When it was released.'),
      }),
    ),
  },
);

export const VirtualMachineImageSchema = kindRoot(
  'VirtualMachineImage',
  'VirtualMachineImage (harrow.io/v1, read-only): a disk image in the local image store, named by containerDisk volumes (by name or alias); managed with `harrow image`.',
  {
    spec: defaulted(
      open('The image.', {
        aliases: defaulted(
          Type.Array(Type.String({ description: 'An image reference.' }), {
            description: 'Other names manifests may use, e.g. quay.io/containerdisks/debian:12.',
          }),
        ),
        source: defaulted(
          Type.String({ description: 'Where it came from (build:debian, import:FILE).' }),
        ),
        packages: listOf(
          'Debian packages a built image was made from (name=version).',
          Type.String({ description: 'name=version' }),
        ),
      }),
    ),
    status: defaulted(
      open('The stored file.', {
        phase: defaulted(oneOf<'Ready'>('Ready.')),
        format: defaulted(oneOf<'raw' | 'qcow2'>('raw or qcow2.')),
        virtualSizeBytes: defaulted(
          Type.Integer({ format: 'int32', description: 'Disk size the guest sees, in bytes.' }),
        ),
        boot: defaulted(
          oneOf<'firmware' | 'kernel'>(
            'firmware (its own boot loader) or kernel (the host cloud kernel, root=/dev/vda).',
          ),
        ),
        contentKey: str('Content key of a built image (recipe and package versions).'),
        imported: defaulted(
          Type.String({ description: 'When it entered the store.', format: 'date-time' }),
        ),
      }),
    ),
  },
);

export const AuditRecordSchema = kindRoot(
  'AuditRecord',
  'AuditRecord (harrow.io/v1, append-only): who changed what, and the outcome.',
  {
    spec: defaulted(
      open('Specification of the object.', {
        timestamp: defaulted(
          Type.String({ description: 'When it happened.', format: 'date-time' }),
        ),
        user: defaulted(Type.String({ description: 'Who did it.' })),
        verb: defaulted(
          Type.String({
            description:
              'create, update, patch, delete, start, stop, restart, guest-exec, or a controller action.',
          }),
        ),
        resource: defaulted(
          open('The object acted on.', {
            kind: Type.String({ description: 'Kind.' }),
            namespace: str('Namespace.'),
            name: Type.String({ description: 'Name.' }),
          }),
        ),
        changes: listOf(
          'The fields that changed.',
          open('One field.', {
            field: Type.String({ description: 'The field path.' }),
            old: Type.Optional(Type.Unknown({ description: 'The value before.' })),
            new: Type.Optional(Type.Unknown({ description: 'The value after.' })),
          }),
        ),
        outcome: defaulted(
          open('The outcome.', {
            code: Type.Integer({ description: 'The HTTP status code.' }),
            status: oneOf<'Success' | 'Failure'>('Success or Failure.'),
            message: str('What happened.'),
          }),
        ),
        connectivity: Type.Optional(ConnectivityResultSchema),
      }),
    ),
  },
);

export type Role = 'admin' | 'operator' | 'viewer' | 'node';

export const ApiTokenSchema = kindRoot(
  'ApiToken',
  "ApiToken (harrow.io/v1): a user's API token, stored by its SHA-256 only.",
  {
    spec: defaulted(
      open('Specification of the object.', {
        user: defaulted(
          Type.String({
            description:
              "The token's user; for the node role system:node:NODE (Kubernetes' kubelet user).",
          }),
        ),
        role: defaulted(oneOf<Role>('admin, operator, viewer or node.')),
        namespaces: defaulted(
          Type.Array(Type.String(), {
            description: 'Granted namespaces (operator, viewer); empty for admin and node.',
          }),
        ),
        tokenHash: defaulted(
          Type.String({ description: 'Lowercase hex SHA-256 of the whole token text.' }),
        ),
      }),
    ),
    status: kept('Observed state of the object.'),
  },
);
