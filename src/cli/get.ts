// `harrow get TYPE [NAME]`: the server's Table of any kind (what kubectl prints), `-o wide` for every column; raw objects with -o json|yaml.
import type { ServerTable } from '../client/client.ts';
import { KINDS, type KindInfo } from '../resources/kinds.ts';
import type { KubeObject } from '../resources/meta.ts';
import type { AuditRecord, KubeEvent } from '../resources/types.ts';
import { expectPositionals } from './args.ts';
import type { Command } from './command.ts';
import { UsageError } from './errors.ts';
import { kindOfWord } from './kind-words.ts';
import { asList, printData, printTable } from './output.ts';
import type { Table } from './table.ts';

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

/** Every word `get` takes, one line per kind: the plural first, then its short names. */
const kindWords = (): string =>
  KINDS.map((k) => `  ${[k.plural, ...k.shortNames].join(', ')}`).join('\n');

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

export const getCommand: Command = {
  name: 'get',
  summary: 'List or show resources of any kind (vm, vmi, vmclone, macs, audit, pods, apitokens, …)',
  usage: `Usage: harrow get TYPE [NAME] [-n NS | -A] [-o table|wide|json|yaml] [-l SELECTOR] [--vm VM]

Prints the server's table for the kind: the columns kubectl get shows (KubeVirt's for its kinds, plus Harrow's
MACs and drift); -o wide adds the wide columns (a VMI's platform and guest MAC, a pod's MACs, …).

Types (any of the words):
${kindWords()}
  also: nets/nads (network-attachment-definitions), mac (macallocations), events/event, pod

Flags:
  -l, --selector SELECTOR   label selector, e.g. harrow.io/verb=patch
      --vm VM               audit and events: only those about this VM
  -A, --all-namespaces      every namespace
  -o, --output FORMAT       table (default), wide (every column), json or yaml (the raw objects)`,
  options: {
    selector: { type: 'string', short: 'l' },
    vm: { type: 'string' },
  },
  async run(ctx, args) {
    const [word, name] = expectPositionals(args.positionals, ['TYPE', 'NAME'], 'get', 1);
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
    const keep = (o: KubeObject): boolean =>
      vmFilter === undefined ||
      (info.kind === 'AuditRecord'
        ? relatesToVm((o as AuditRecord).spec?.resource?.name ?? '', vmFilter)
        : relatesToVm((o as KubeEvent).involvedObject?.name ?? '', vmFilter));

    if (ctx.globals.output !== 'table') {
      let objects: KubeObject[];
      if (name !== undefined) objects = [await client.get(info.kind, { ...scope, name })];
      else {
        objects = await client.listAll(info.kind, {
          ...scope,
          ...(labelSelector !== '' ? { labelSelector } : {}),
        });
        objects.sort(rowOrder(info.kind));
      }
      objects = objects.filter(keep);
      printData(ctx.io, ctx.globals.output, name !== undefined ? objects[0] : asList(objects));
      return 0;
    }

    const table = await client.table(info.kind, {
      ...scope,
      ...(name !== undefined ? { name } : {}),
      ...(name === undefined && labelSelector !== '' ? { labelSelector } : {}),
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
  },
};

/** Ordering audit records and events by time, and --vm, read the objects' fields, not only their metadata. */
const needsWholeObjects = (info: KindInfo, vmFilter: string | undefined): boolean =>
  vmFilter !== undefined || info.kind === 'AuditRecord' || info.kind === 'Event';
