// `harrow get TYPE [NAME]`: the server's Table of any kind (what kubectl prints), `-o wide` for every column; raw objects with -o json|yaml.
import type { ServerTable } from '../client/client.ts';
import type { KindInfo } from '../resources/kinds.ts';
import type { KubeObject } from '../resources/meta.ts';
import type { AuditRecord, KubeEvent } from '../resources/types.ts';
import { UsageError } from './errors.ts';
import { kindOfWord, qualifiedName } from './kind-words.ts';
import { asList, printData, printTable } from './output.ts';
import type { Table } from './table.ts';
import type { ParsedCommandLine } from './args.ts';
import type { CommandContext } from './context.ts';

const byName = (a: KubeObject, b: KubeObject): number =>
  (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
  a.metadata.name.localeCompare(b.metadata.name);

const eventTime = (e: KubeEvent): string =>
  e.lastTimestamp ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? '';

/** Rows in the order people read them: audit records and events by time, everything else by namespace and name. */
function rowOrder(kind: string): (a: KubeObject, b: KubeObject) => number {
  if (kind === 'AuditRecord')
    return (a, b) =>
      ((a as AuditRecord).spec?.timestamp ?? '').localeCompare(
        (b as AuditRecord).spec?.timestamp ?? '',
      ) || a.metadata.name.localeCompare(b.metadata.name);
  if (kind === 'Event')
    return (a, b) => eventTime(a as KubeEvent).localeCompare(eventTime(b as KubeEvent));
  return byName;
}

/** Objects that belong to a VM: the VM and its VMI by name, its launcher pods by prefix. */
export const relatesToVm = (objectName: string, vm: string): boolean =>
  objectName === vm || objectName.startsWith(`virt-launcher-${vm}-`);

/** A cell as kubectl prints it: `<none>` for null, the value's text otherwise. */
const cellText = (cell: unknown): string =>
  cell === null || cell === undefined
    ? '<none>'
    : typeof cell === 'object'
      ? JSON.stringify(cell)
      : String(cell);

/**
 * The Table as kubectl prints it: upper-case column names, priority-0 columns unless wide, NAMESPACE first across
 * namespaces (read from each row's object metadata).
 */
export function renderServerTable(
  table: ServerTable,
  options: { wide: boolean; withNamespace: boolean },
): Table {
  const shown = table.columnDefinitions
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => options.wide || c.priority === 0);
  const headers = shown.map(({ c }) => c.name.toUpperCase());
  const rows = table.rows.map((r) => shown.map(({ i }) => cellText(r.cells[i])));
  if (!options.withNamespace) return { headers, rows };
  return {
    headers: ['NAMESPACE', ...headers],
    rows: rows.map((cells, i) => [table.rows[i]?.object?.metadata?.namespace ?? '', ...cells]),
  };
}

export async function runGet(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const [word, name] = args.positionals;
  const info = kindOfWord(word!, 'get');
  const vmFilter = args.values.vm as string | undefined;
  if (vmFilter !== undefined && info.kind !== 'AuditRecord' && info.kind !== 'Event') {
    throw new UsageError('get: --vm applies to audit and events only', 'get');
  }
  if (name !== undefined && ctx.globals.allNamespaces && info.namespaced) {
    throw new UsageError('get: a NAME needs one namespace, not -A', 'get');
  }
  const client = ctx.client();
  const namespace = info.namespaced && !ctx.globals.allNamespaces ? ctx.namespace() : undefined;
  const scope = namespace !== undefined ? { namespace } : {};
  const selectors = [args.values.selector as string | undefined];
  if (vmFilter !== undefined && info.kind === 'AuditRecord')
    selectors.push(`harrow.io/name=${vmFilter}`);
  const labelSelector = selectors.filter((s) => s !== undefined && s !== '').join(',');
  const fieldSelector = (args.values['field-selector'] as string | undefined) ?? '';
  const selected = {
    ...(labelSelector !== '' ? { labelSelector } : {}),
    ...(fieldSelector !== '' ? { fieldSelector } : {}),
  };
  const keep = (o: KubeObject): boolean =>
    vmFilter === undefined ||
    (info.kind === 'AuditRecord'
      ? relatesToVm((o as AuditRecord).spec?.resource?.name ?? '', vmFilter)
      : relatesToVm((o as KubeEvent).involvedObject?.name ?? '', vmFilter));

  if (ctx.globals.output !== 'table' || ctx.globals.names) {
    let objects: KubeObject[];
    if (name !== undefined) objects = [await client.get(info.kind, { ...scope, name })];
    else {
      objects = await client.listAll(info.kind, { ...scope, ...selected });
      objects.sort(rowOrder(info.kind));
    }
    objects = objects.filter(keep);
    if (ctx.globals.names) {
      for (const o of objects) ctx.io.stdout.write(`${qualifiedName(info, o.metadata.name)}\n`);
      return 0;
    }
    if (ctx.globals.output === 'table') return 0;
    printData(ctx.io, ctx.globals.output, name !== undefined ? objects[0] : asList(objects));
    return 0;
  }

  const table = await client.table(info.kind, {
    ...scope,
    ...(name !== undefined ? { name } : {}),
    ...(name === undefined ? selected : {}),
    includeObject: needsWholeObjects(info, vmFilter) ? 'Object' : 'Metadata',
  });
  const order = rowOrder(info.kind);
  table.rows = table.rows
    .filter((r) => r.object === undefined || keep(r.object))
    .sort((a, b) => (a.object && b.object ? order(a.object, b.object) : 0));
  const where = info.namespaced && namespace !== undefined ? ` in ${namespace} namespace` : '';
  printTable(
    ctx.io,
    renderServerTable(table, {
      wide: ctx.globals.wide,
      withNamespace: info.namespaced && namespace === undefined,
    }),
    `No resources found${where}.`,
  );
  return 0;
}

/** Ordering audit records and events by time, and --vm, read the objects' fields, not only their metadata. */
const needsWholeObjects = (info: KindInfo, vmFilter: string | undefined): boolean =>
  vmFilter !== undefined || info.kind === 'AuditRecord' || info.kind === 'Event';
