// The table of each kind `harrow get` prints: which columns, and how each cell is read from the objects.
import type { KubeObject } from '../resources/meta.ts';
import type {
  AuditRecord,
  KubeEvent,
  MacAllocation,
  NetworkAttachmentDefinition,
  Pod,
  VirtualMachine,
  VirtualMachineInstance,
} from '../resources/types.ts';
import { interfaceViews, type InterfaceView } from '../network/interface-view.ts';
import { conditionOf } from '../resources/meta.ts';
import { networkStatusOf } from '../network/multus.ts';
import { age, truncate, type Table } from './table.ts';

export type { Table } from './table.ts';

const nsKey = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const withNamespace = (t: Table, objects: KubeObject[], show: boolean): Table =>
  show
    ? {
        headers: ['NAMESPACE', ...t.headers],
        rows: t.rows.map((r, i) => [objects[i]?.metadata.namespace ?? '', ...r]),
      }
    : t;

/** `a=x,b=y` for several interfaces, the bare value for one; `-` when nothing is known. */
function perInterface(
  views: InterfaceView[],
  pick: (v: InterfaceView) => string | undefined,
): string {
  const known = views.map((v) => [v.name, pick(v)] as const);
  if (known.every(([, v]) => v === undefined)) return '-';
  if (views.length === 1) return known[0]![1] ?? '-';
  return known.map(([n, v]) => `${n}=${v ?? '-'}`).join(',');
}

export function vmTable(
  vms: VirtualMachine[],
  vmis: VirtualMachineInstance[],
  now: Date,
  allNamespaces = false,
): Table {
  const vmiByKey = new Map(vmis.map((i) => [nsKey(i), i]));
  const rows = vms.map((vm) => {
    const vmi = vmiByKey.get(nsKey(vm));
    const views = interfaceViews(vm, vmi, undefined);
    const restart = conditionOf(vm.status?.conditions, 'RestartRequired')?.status === 'True';
    const status = vm.status?.printableStatus ?? '-';
    const macs = views.map((v) => `${v.name}=${v.specMac ?? '-'}`).join(',') || '-';
    return [
      vm.metadata.name,
      age(vm.metadata.creationTimestamp, now),
      restart ? `${status} (restart required)` : status,
      vm.status?.ready === true ? 'True' : 'False',
      macs,
      driftCell(views, vmi),
    ];
  });
  return withNamespace(
    { headers: ['NAME', 'AGE', 'STATUS', 'READY', 'MACS', 'DRIFT'], rows },
    vms,
    allNamespaces,
  );
}

/** What the DRIFT column says: each drifted interface with the guest's MAC, `yes` when only the condition knows. */
function driftCell(views: InterfaceView[], vmi: VirtualMachineInstance | undefined): string {
  const drifted = views.filter((v) => v.mismatch).map((v) => `${v.name}: guest ${v.guestMac}`);
  if (drifted.length > 0) return drifted.join(',');
  return conditionOf(vmi?.status?.conditions, 'GuestMACMismatch')?.status === 'True' ? 'yes' : '-';
}

export function vmiTable(
  vmis: VirtualMachineInstance[],
  pods: Pod[],
  allNamespaces = false,
): Table {
  const rows = vmis.map((vmi) => {
    const views = interfaceViews(undefined, vmi, launcherPodOf(vmi, pods));
    return [
      vmi.metadata.name,
      vmi.status?.phase ?? '-',
      vmi.status?.nodeName ?? '-',
      perInterface(views, (v) => v.ips[0]),
      perInterface(views, (v) => v.platformMac),
      perInterface(views, (v) =>
        v.guestMac === undefined ? undefined : v.mismatch ? `${v.guestMac} (mismatch)` : v.guestMac,
      ),
    ];
  });
  return withNamespace(
    { headers: ['NAME', 'PHASE', 'NODE', 'IP', 'MAC', 'GUEST MAC'], rows },
    vmis,
    allNamespaces,
  );
}

/** The launcher Pod of a VMI: owned by it when owner references say so, else the newest pod labelled with its name. */
export function launcherPodOf(vmi: VirtualMachineInstance, pods: Pod[]): Pod | undefined {
  const mine = pods.filter((p) => p.metadata.namespace === vmi.metadata.namespace);
  const owned = mine.find(
    (p) =>
      vmi.metadata.uid !== undefined &&
      p.metadata.ownerReferences?.some((r) => r.uid === vmi.metadata.uid),
  );
  if (owned) return owned;
  const labelled = mine.filter(
    (p) =>
      p.metadata.labels?.['vm.kubevirt.io/name'] === vmi.metadata.name &&
      p.metadata.deletionTimestamp === undefined,
  );
  return labelled.sort((a, b) =>
    (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
  )[0];
}

export function macTable(allocations: MacAllocation[]): Table {
  const sorted = [...allocations].sort((a, b) =>
    (a.spec?.macAddress ?? '').localeCompare(b.spec?.macAddress ?? ''),
  );
  const rows = sorted.map((a) => {
    const o = a.spec?.owner;
    return [
      a.spec?.macAddress ?? a.metadata.name.replaceAll('-', ':'),
      a.status?.state ?? '-',
      o ? `${o.namespace}/${o.name}/${o.interface}` : '-',
      a.status?.state === 'Quarantined' ? (a.status.quarantineUntil ?? '-') : '-',
    ];
  });
  return { headers: ['MAC', 'STATE', 'OWNER', 'QUARANTINE UNTIL'], rows };
}

const DEVICE_PREFIX = 'spec.template.spec.domain.devices.';

/** `interfaces[0].macAddress: 02:…:01→02:…:02`, fields shortened below the template's devices. */
export function changeSummary(changes: AuditRecord['spec']['changes']): string {
  if (!changes || changes.length === 0) return '-';
  const show = (v: unknown): string =>
    v === undefined ? '∅' : typeof v === 'string' ? v : JSON.stringify(v);
  return changes
    .map((c) => {
      const field = c.field.startsWith(DEVICE_PREFIX)
        ? c.field.slice(DEVICE_PREFIX.length)
        : c.field;
      return `${field}: ${truncate(show(c.old), 40)}→${truncate(show(c.new), 40)}`;
    })
    .join('; ');
}

export function outcomeSummary(spec: AuditRecord['spec']): string {
  const o = spec.outcome;
  let s = o
    ? o.status === 'Success'
      ? 'Success'
      : `Failure ${o.code}${o.message ? `: ${o.message}` : ''}`
    : '-';
  const c = spec.connectivity;
  if (c) s += `; connectivity ${c.ok ? 'ok' : 'FAILED'}${c.ok ? '' : `: ${c.message}`}`;
  return s;
}

export function auditTable(records: AuditRecord[], allNamespaces = false): Table {
  const sorted = [...records].sort(
    (a, b) =>
      (a.spec?.timestamp ?? '').localeCompare(b.spec?.timestamp ?? '') ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
  const rows = sorted.map((r) => {
    const res = r.spec?.resource;
    return [
      r.spec?.timestamp ?? '-',
      r.spec?.user ?? '-',
      r.spec?.verb ?? '-',
      res ? `${res.kind}/${res.name}` : '-',
      changeSummary(r.spec?.changes),
      outcomeSummary(r.spec),
    ];
  });
  return withNamespace(
    { headers: ['TIME', 'USER', 'VERB', 'RESOURCE', 'CHANGE', 'OUTCOME'], rows },
    sorted,
    allNamespaces,
  );
}

export function podTable(pods: Pod[], now: Date, allNamespaces = false): Table {
  const rows = pods.map((p) => {
    const nets = (networkStatusOf(p) ?? []).filter((e) => e.mac !== undefined);
    return [
      p.metadata.name,
      p.status?.phase ?? '-',
      p.spec?.nodeName ?? '-',
      p.status?.podIP ?? '-',
      nets.map((e) => `${e.interface ?? e.name}=${e.mac}`).join(',') || '-',
      age(p.metadata.creationTimestamp, now),
    ];
  });
  return withNamespace(
    { headers: ['NAME', 'PHASE', 'NODE', 'IP', 'MACS', 'AGE'], rows },
    pods,
    allNamespaces,
  );
}

/** The CNI config's type, VLAN and subnet (host-local `subnet`, or the first of `ranges`). */
export function networkSummary(nad: NetworkAttachmentDefinition): {
  type: string;
  vlan: string;
  subnet: string;
} {
  let config: Record<string, unknown> = {};
  try {
    const v: unknown = JSON.parse(nad.spec?.config ?? '{}');
    if (typeof v === 'object' && v !== null) config = v as Record<string, unknown>;
  } catch {
    return { type: '<invalid config>', vlan: '-', subnet: '-' };
  }
  const ipam = (config.ipam ?? {}) as { subnet?: unknown; ranges?: unknown };
  const ranges = Array.isArray(ipam.ranges)
    ? (ipam.ranges.flat() as Array<{ subnet?: unknown }>)
    : [];
  const subnet =
    typeof ipam.subnet === 'string'
      ? ipam.subnet
      : typeof ranges[0]?.subnet === 'string'
        ? ranges[0].subnet
        : '-';
  return {
    type: typeof config.type === 'string' ? config.type : '-',
    vlan: typeof config.vlan === 'number' ? String(config.vlan) : '-',
    subnet,
  };
}

export function netTable(
  nads: NetworkAttachmentDefinition[],
  now: Date,
  allNamespaces = false,
): Table {
  const rows = nads.map((n) => {
    const s = networkSummary(n);
    return [n.metadata.name, s.type, s.vlan, s.subnet, age(n.metadata.creationTimestamp, now)];
  });
  return withNamespace(
    { headers: ['NAME', 'TYPE', 'VLAN', 'SUBNET', 'AGE'], rows },
    nads,
    allNamespaces,
  );
}

const eventTime = (e: KubeEvent): string =>
  e.lastTimestamp ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? '';

export const sortEvents = (events: KubeEvent[]): KubeEvent[] =>
  [...events].sort((a, b) => eventTime(a).localeCompare(eventTime(b)));

export function eventTable(events: KubeEvent[], now: Date, allNamespaces = false): Table {
  const sorted = sortEvents(events);
  const rows = sorted.map((e) => [
    age(eventTime(e) || undefined, now),
    e.type ?? '-',
    e.reason ?? '-',
    e.involvedObject ? `${e.involvedObject.kind.toLowerCase()}/${e.involvedObject.name}` : '-',
    `${e.message ?? ''}${e.count !== undefined && e.count > 1 ? ` (x${e.count})` : ''}`,
  ]);
  return withNamespace(
    { headers: ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'], rows },
    sorted,
    allNamespaces,
  );
}

export function genericTable(objects: KubeObject[], now: Date, allNamespaces = false): Table {
  const rows = objects.map((o) => [o.metadata.name, age(o.metadata.creationTimestamp, now)]);
  return withNamespace({ headers: ['NAME', 'AGE'], rows }, objects, allNamespaces);
}
