// Server-side printing (meta.k8s.io Table): the columns `kubectl get` shows per kind, KubeVirt's for its kinds.
import { changeSummary, outcomeSummary } from '../audit/summary.ts';
import { interfaceViews } from '../network/interface-view.ts';
import { networkStatusOf } from '../network/multus.ts';
import { nadSummary } from '../resources/nad.ts';
import type {
  AuditRecord,
  NetworkAttachmentDefinition,
  Pod,
  VirtualMachineInstance,
} from '../resources/types.ts';
import type { KindInfo } from '../resources/kinds.ts';
import type { Condition, KubeObject } from '../resources/meta.ts';
import { acceptedVersion } from './accept.ts';

type Cell = string | number | boolean | null;

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date' | 'boolean';
  format?: string;
  description: string;
  /** 0: always shown; 1: only with `-o wide`. */
  priority: number;
  cell(o: KubeObject, now: number): Cell;
}

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface Table {
  kind: 'Table';
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions?: TableColumnDefinition[];
  rows: Array<{ cells: Cell[]; object?: unknown }>;
}

/** Kubernetes' HumanDuration: `45s`, `3m20s`, `5h`, `12d`, `2y30d`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0
      ? `${Math.floor(hours / 24)}d`
      : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 8)
    return days % 365 === 0
      ? `${Math.floor(days / 365)}y`
      : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

const at = (o: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (cur, p) =>
        typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[p] : undefined,
      o,
    );
const text = (o: unknown, path: string): string => {
  const v = at(o, path);
  return v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
};
const since = (timestamp: unknown, now: number): string =>
  typeof timestamp === 'string' && !Number.isNaN(Date.parse(timestamp))
    ? humanDuration(now - Date.parse(timestamp))
    : '<unknown>';
/** A figure from status: a number, or null (kubectl prints <none>) before the controller first wrote it. */
const count = (name: string, description: string, path: string, priority = 0): Column =>
  column(
    name,
    description,
    (o) => {
      const v = at(o, path);
      return typeof v === 'number' ? v : null;
    },
    priority,
    'integer',
  );
const conditionStatus = (o: KubeObject, type: string): string =>
  ((at(o, 'status.conditions') as Condition[] | undefined) ?? []).find((c) => c.type === type)
    ?.status ?? '';

const age: Column = {
  name: 'Age',
  type: 'date',
  description: 'Time since the object was created (metadata.creationTimestamp).',
  priority: 0,
  cell: (o, now) => since(o.metadata.creationTimestamp, now),
};
const column = (
  name: string,
  description: string,
  cell: (o: KubeObject) => Cell,
  priority = 0,
  type: Column['type'] = 'string',
): Column => ({
  name,
  type,
  description,
  priority,
  cell,
});

/** One column of the per-interface view (the one the CLI and the web UI render too), joined over the interfaces. */
function vmiMacs(o: KubeObject, field: 'platformMac' | 'guestMac'): string {
  return interfaceViews(undefined, o as VirtualMachineInstance, undefined)
    .map((v) => v[field])
    .filter((m): m is string => m !== undefined)
    .join(',');
}

const COLUMNS: Record<string, Column[]> = {
  // KubeVirt's additionalPrinterColumns.
  VirtualMachine: [
    age,
    column('Status', 'Human readable status (status.printableStatus).', (o) =>
      text(o, 'status.printableStatus'),
    ),
    column('Ready', 'The Ready condition.', (o) => conditionStatus(o, 'Ready')),
    // Harrow's addition: the network identity the manifest carries.
    column(
      'MACs',
      'Each interface and its MAC (spec.template.spec.domain.devices.interfaces[].macAddress).',
      (o) =>
        (
          (at(o, 'spec.template.spec.domain.devices.interfaces') as
            Array<{ name?: string; macAddress?: string }> | undefined) ?? []
        )
          .map((i) => `${i.name ?? ''}=${i.macAddress ?? '<pending>'}`)
          .join(','),
    ),
    column(
      'Drift',
      'The GuestMACMismatch condition: a guest uses a MAC other than the platform’s (harrow drift lists each one).',
      (o) => (conditionStatus(o, 'GuestMACMismatch') === 'True' ? 'True' : 'False'),
    ),
  ],
  VirtualMachineInstance: [
    age,
    column('Phase', 'status.phase', (o) => text(o, 'status.phase')),
    column('IP', 'The first interface’s address (status.interfaces[0].ipAddress).', (o) =>
      text(o, 'status.interfaces.0.ipAddress'),
    ),
    column('NodeName', 'status.nodeName', (o) => text(o, 'status.nodeName')),
    column('Ready', 'The Ready condition.', (o) => conditionStatus(o, 'Ready')),
    // Harrow's additions (-o wide): the platform's MAC (the pod interface's) and what the guest uses.
    column(
      'MAC',
      'The platform MAC of each interface (status.interfaces[].mac).',
      (o) => vmiMacs(o, 'platformMac'),
      1,
    ),
    column(
      'Guest MAC',
      'The MAC each guest interface uses (status.interfaces[].guestMac).',
      (o) => vmiMacs(o, 'guestMac'),
      1,
    ),
  ],
  VirtualMachineClone: [
    column('Phase', 'status.phase', (o) => text(o, 'status.phase')),
    column('SourceVirtualMachine', 'spec.source.name', (o) => text(o, 'spec.source.name')),
    column('TargetVirtualMachine', 'spec.target.name', (o) => text(o, 'spec.target.name')),
    age,
  ],
  // Multus' CRD prints only the age; Harrow adds what its CNI config says.
  NetworkAttachmentDefinition: [
    column(
      'Type',
      'The CNI plugin (spec.config type).',
      (o) => nadSummary(o as NetworkAttachmentDefinition).type,
    ),
    column(
      'VLAN',
      'The VLAN id (spec.config vlan).',
      (o) => nadSummary(o as NetworkAttachmentDefinition).vlan,
    ),
    column(
      'Subnet',
      'The IPv4 subnet (spec.config ipam.subnet).',
      (o) => nadSummary(o as NetworkAttachmentDefinition).subnet,
    ),
    age,
  ],
  MacPool: [
    column('Ranges', 'The ranges start-end (spec.ranges).', (o) =>
      ((at(o, 'spec.ranges') as Array<{ start?: string; end?: string }> | undefined) ?? [])
        .map((r) => `${r.start ?? ''}-${r.end ?? ''}`)
        .join(','),
    ),
    count('Capacity', 'Addresses the pool may hand out (status.capacity).', 'status.capacity'),
    count('Allocated', 'Addresses in use (status.allocated).', 'status.allocated'),
    count(
      'Quarantined',
      'Released addresses not yet reusable (status.quarantined).',
      'status.quarantined',
    ),
    count(
      'OutsideRanges',
      'Addresses held outside every range of every pool (status.outsideRanges).',
      'status.outsideRanges',
      1,
    ),
    age,
  ],
  DataVolume: [
    column('Phase', 'status.phase', (o) => text(o, 'status.phase')),
    column('Progress', 'status.progress', (o) => text(o, 'status.progress')),
    column('Restarts', 'Importer restarts (always 0: Harrow fills a disk in place).', () => 0),
    age,
  ],
  PersistentVolumeClaim: [
    column('Status', 'status.phase', (o) => text(o, 'status.phase')),
    column('Volume', 'The disk: pvc-UID.', (o) =>
      text(o, 'status.phase') === 'Bound' ? `pvc-${o.metadata.uid ?? ''}` : '',
    ),
    column('Capacity', 'status.capacity.storage', (o) => text(o, 'status.capacity.storage')),
    column('Access Modes', 'spec.accessModes', (o) =>
      ((at(o, 'spec.accessModes') as string[] | undefined) ?? [])
        .map(
          (m) =>
            ({
              ReadWriteOnce: 'RWO',
              ReadOnlyMany: 'ROX',
              ReadWriteMany: 'RWX',
              ReadWriteOncePod: 'RWOP',
            })[m] ?? m,
        )
        .join(','),
    ),
    column('StorageClass', 'spec.storageClassName', (o) => text(o, 'spec.storageClassName')),
    age,
  ],
  VirtualMachineImage: [
    column('Format', 'status.format', (o) => text(o, 'status.format')),
    column('Size', 'Virtual size in bytes (status.virtualSizeBytes).', (o) =>
      text(o, 'status.virtualSizeBytes'),
    ),
    column('Boot', 'status.boot', (o) => text(o, 'status.boot')),
    column('Aliases', 'spec.aliases', (o) =>
      ((at(o, 'spec.aliases') as string[] | undefined) ?? []).join(','),
    ),
    age,
  ],
  MacAllocation: [
    column('MAC', 'spec.macAddress', (o) => text(o, 'spec.macAddress')),
    column('State', 'InUse or Quarantined (status.state).', (o) => text(o, 'status.state')),
    column('Owner', 'The VM interface holding the address.', (o) => {
      const owner = at(o, 'spec.owner') as
        { namespace?: string; name?: string; interface?: string } | undefined;
      return owner?.name ? `${owner.namespace ?? ''}/${owner.name}/${owner.interface ?? ''}` : '';
    }),
    column('Pool', 'spec.pool', (o) => text(o, 'spec.pool')),
    column(
      'QuarantineUntil',
      'status.quarantineUntil',
      (o) => text(o, 'status.quarantineUntil'),
      1,
    ),
    age,
  ],
  AuditRecord: [
    column('Time', 'spec.timestamp', (o) => text(o, 'spec.timestamp')),
    column('User', 'spec.user', (o) => text(o, 'spec.user')),
    column('Verb', 'spec.verb', (o) => text(o, 'spec.verb')),
    column('Kind', 'spec.resource.kind', (o) => text(o, 'spec.resource.kind')),
    column('Object', 'spec.resource.name', (o) => text(o, 'spec.resource.name')),
    column('Change', 'The fields changed, old→new (spec.changes).', (o) =>
      changeSummary((o as AuditRecord).spec?.changes),
    ),
    column(
      'Outcome',
      'Success, or Failure with the code and message (spec.outcome), and the connectivity check (spec.connectivity).',
      (o) => ((o as AuditRecord).spec ? outcomeSummary((o as AuditRecord).spec) : ''),
    ),
  ],
  Pod: [
    column('Ready', 'Ready containers / containers.', (o) => {
      const containers = (at(o, 'spec.containers') as unknown[] | undefined)?.length ?? 0;
      const statuses =
        (at(o, 'status.containerStatuses') as Array<{ ready?: boolean }> | undefined) ?? [];
      const ready =
        statuses.length > 0
          ? statuses.filter((s) => s.ready).length
          : conditionStatus(o, 'Ready') === 'True'
            ? containers
            : 0;
      return `${ready}/${containers}`;
    }),
    column('Status', 'status.phase', (o) => text(o, 'status.phase')),
    column('Restarts', 'Container restarts.', () => 0, 0, 'integer'),
    age,
    column('IP', 'status.podIP', (o) => text(o, 'status.podIP'), 1),
    column('Node', 'spec.nodeName', (o) => text(o, 'spec.nodeName'), 1),
    column(
      'MACs',
      'Each pod interface and its MAC (the k8s.v1.cni.cncf.io/network-status annotation).',
      (o) =>
        (networkStatusOf(o as Pod) ?? [])
          .filter((e) => e.mac !== undefined)
          .map((e) => `${e.interface ?? e.name}=${e.mac}`)
          .join(','),
      1,
    ),
  ],
  Event: [
    column('Last Seen', 'Time since the event was last seen.', (o) =>
      since(at(o, 'lastTimestamp') ?? o.metadata.creationTimestamp, Date.now()),
    ),
    column('Type', 'type', (o) => text(o, 'type')),
    column('Reason', 'reason', (o) => text(o, 'reason')),
    column(
      'Object',
      'The object the event is about.',
      (o) => `${text(o, 'involvedObject.kind').toLowerCase()}/${text(o, 'involvedObject.name')}`,
    ),
    column('Message', 'message', (o) => text(o, 'message')),
  ],
  Namespace: [column('Status', 'status.phase', (o) => text(o, 'status.phase')), age],
  Node: [
    column('Status', 'The Ready condition.', (o) =>
      conditionStatus(o, 'Ready') === 'True' ? 'Ready' : 'NotReady',
    ),
    column('Roles', 'Node roles.', () => '<none>'),
    age,
    column('Version', 'status.nodeInfo.kubeletVersion', (o) =>
      text(o, 'status.nodeInfo.kubeletVersion'),
    ),
  ],
};

const NAME: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  priority: 0,
  cell: (o) => o.metadata.name,
};

const columnsOf = (kind: string): Column[] => [NAME, ...(COLUMNS[kind] ?? [age])];

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** The Table version a client asked for in Accept (kubectl get asks for meta.k8s.io v1, then v1beta1), if any. */
export function tableVersionAccepted(accept: string | undefined): 'v1' | 'v1beta1' | undefined {
  return acceptedVersion(accept, 'meta.k8s.io', 'Table', ['v1', 'v1beta1']);
}

export interface TableOptions {
  version: 'v1' | 'v1beta1';
  includeObject?: IncludeObject;
  /** Watch events after the first leave the column definitions out (the client has them). */
  noHeaders?: boolean;
  now?: number;
}

export function toTable(
  info: KindInfo,
  objects: KubeObject[],
  meta: { resourceVersion?: string; continue?: string },
  options: TableOptions,
): Table {
  const columns = columnsOf(info.kind);
  const now = options.now ?? Date.now();
  const include = options.includeObject ?? 'Metadata';
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${options.version}`,
    metadata: meta,
    ...(options.noHeaders
      ? {}
      : {
          columnDefinitions: columns.map((c) => ({
            name: c.name,
            type: c.type,
            format: c.format ?? '',
            description: c.description,
            priority: c.priority,
          })),
        }),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o, now)),
      ...(include === 'None'
        ? {}
        : {
            object:
              include === 'Object'
                ? o
                : {
                    kind: 'PartialObjectMetadata',
                    apiVersion: `meta.k8s.io/${options.version}`,
                    metadata: o.metadata,
                  },
          }),
    })),
  };
}
