// metadata.managedFields: who owns which field, kept on every write (Update) and decided by server-side apply (Apply).
import { HarrowError, Invalid, fieldInvalid } from '../../resources/errors.ts';
import type { KubeObject } from '../../resources/meta.ts';
import { deepEqual } from '../patch.ts';
import {
  compareFields,
  difference,
  fieldElement,
  fieldValuesOf,
  fromFieldsV1,
  intersection,
  keyElement,
  listKeyOf,
  pathKey,
  pathOfKey,
  pathString,
  setOf,
  toFieldsV1,
  union,
  valueElement,
  type FieldScope,
  type FieldSet,
  type FieldsV1,
  type PathElement,
} from './field-set.ts';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: FieldsV1;
  subresource?: string;
}

/** One manager's fields: the identity is manager, operation and subresource. */
interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  subresource?: string;
  apiVersion: string;
  time?: string;
  fields: FieldSet;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const sameManager = (
  a: Pick<Manager, 'manager' | 'operation' | 'subresource'>,
  b: Pick<Manager, 'manager' | 'operation' | 'subresource'>,
): boolean =>
  a.manager === b.manager &&
  a.operation === b.operation &&
  (a.subresource ?? '') === (b.subresource ?? '');

/** The manager a write is recorded under: `?fieldManager=`, else the User-Agent's product (as kube-apiserver does). */
export function fieldManagerOf(
  fieldManager: string | undefined,
  userAgent: string | undefined,
): string {
  if (fieldManager !== undefined && fieldManager !== '') {
    validateFieldManager(fieldManager);
    return fieldManager;
  }
  const product = (userAgent ?? '').split('/')[0]!.trim();
  return (product === '' ? 'unknown' : product).slice(0, 128);
}

function validateFieldManager(name: string): void {
  // A manager name must be printable, as apimachinery requires.
  const printable = [...name].every((c) => c.charCodeAt(0) > 0x1f && c.charCodeAt(0) !== 0x7f);
  const bad =
    name.length > 128
      ? 'must have at most 128 characters'
      : !printable
        ? 'must only contain printable characters'
        : undefined;
  if (bad)
    throw new Invalid(
      `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: ${JSON.stringify(name)}: ${bad}`,
      [fieldInvalid('fieldManager', `Invalid value: ${JSON.stringify(name)}: ${bad}`)],
      { group: 'meta.k8s.io', kind: 'PatchOptions', name: '' },
    );
}

function decodeEntries(value: unknown, kind: string): Manager[] {
  if (value === undefined || value === null) return [];
  const refuse = (i: number | undefined, why: string): never => {
    const field = i === undefined ? 'metadata.managedFields' : `metadata.managedFields[${i}]`;
    throw new Invalid(`${kind} is invalid: ${field}: ${why}`, [fieldInvalid(field, why)]);
  };
  if (!Array.isArray(value)) return refuse(undefined, 'must be a list of ManagedFieldsEntry');
  return value.map((raw: unknown, i): Manager => {
    if (!isObject(raw)) return refuse(i, 'must be an object');
    const { manager, operation, apiVersion, time, fieldsType, fieldsV1, subresource } = raw;
    if (typeof manager !== 'string') return refuse(i, 'manager must be a string');
    if (operation !== 'Apply' && operation !== 'Update')
      return refuse(i, 'operation must be Apply or Update');
    if (fieldsType !== 'FieldsV1') return refuse(i, 'fieldsType must be FieldsV1');
    let fields: FieldSet;
    try {
      fields = fromFieldsV1(fieldsV1 ?? {}, `metadata.managedFields[${i}].fieldsV1`);
    } catch (e) {
      return refuse(i, (e as Error).message);
    }
    return {
      manager,
      operation,
      apiVersion: typeof apiVersion === 'string' ? apiVersion : '',
      ...(typeof time === 'string' ? { time } : {}),
      ...(typeof subresource === 'string' && subresource !== '' ? { subresource } : {}),
      fields,
    };
  });
}

function encodeEntries(managers: Manager[]): ManagedFieldsEntry[] {
  return managers
    .filter((m) => m.fields.size > 0)
    .map((m) => ({
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      ...(m.time !== undefined ? { time: m.time } : {}),
      fieldsType: 'FieldsV1' as const,
      fieldsV1: toFieldsV1(m.fields),
      ...(m.subresource ? { subresource: m.subresource } : {}),
    }));
}

const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** What a write is, for the bookkeeping: who, through which part, whether the kind's status is a subresource. */
export interface FieldWrite {
  manager: string;
  scope: FieldScope;
  statusIsSubresource: boolean;
}

/**
 * The managers a write starts from: the stored ones, unless the client sent its own list. As in Kubernetes, an absent
 * or empty list keeps the stored ones (clients that drop the field do not wipe ownership), `[{}]` clears them.
 */
function baseManagers(incoming: KubeObject, stored: KubeObject | undefined): Manager[] {
  const sent = incoming.metadata.managedFields;
  const storedManagers = decodeEntries(stored?.metadata.managedFields, incoming.kind);
  if (sent === undefined || (Array.isArray(sent) && sent.length === 0)) return storedManagers;
  if (
    Array.isArray(sent) &&
    sent.length === 1 &&
    isObject(sent[0]) &&
    Object.keys(sent[0]).length === 0
  )
    return [];
  if (stored && deepEqual(sent, stored.metadata.managedFields)) return storedManagers;
  return decodeEntries(sent, incoming.kind);
}

const scopeOf = (w: FieldWrite): { subresource?: string } =>
  w.scope === 'status' ? { subresource: 'status' } : {};

/** A write by an Update (create, replace, patch): the manager gains what it added or changed, others lose it. */
export function recordUpdate(
  object: KubeObject,
  stored: KubeObject | undefined,
  write: FieldWrite,
): void {
  const managers = baseManagers(object, stored);
  const before = fieldValuesOf(stored ?? { metadata: {} }, write.scope, write.statusIsSubresource);
  const after = fieldValuesOf(object, write.scope, write.statusIsSubresource);
  const { added, modified, removed } = compareFields(before, after);
  const changed = union(added, modified);
  const touched = union(changed, removed);
  const me = { manager: write.manager, operation: 'Update' as const, ...scopeOf(write) };
  let mine = managers.find((m) => sameManager(m, me));
  for (const m of managers) if (m !== mine) m.fields = difference(m.fields, touched);
  if (changed.size > 0 || mine) {
    const fields = difference(union(mine?.fields ?? [], changed), removed);
    const grew =
      !mine || fields.size !== mine.fields.size || [...fields].some((p) => !mine!.fields.has(p));
    if (!mine) {
      mine = { ...me, apiVersion: object.apiVersion, fields };
      managers.push(mine);
    } else mine.fields = fields;
    if (grew) {
      mine.time = now();
      mine.apiVersion = object.apiVersion;
    }
  }
  setManagedFields(object, managers, stored);
}

/** Keeps the stored list as it is when nothing about ownership changed (a no-op write stays a no-op). */
function setManagedFields(
  object: KubeObject,
  managers: Manager[],
  stored: KubeObject | undefined,
): void {
  const entries = encodeEntries(managers);
  const old = stored?.metadata.managedFields;
  if (old !== undefined && deepEqual(entries, old)) object.metadata.managedFields = old;
  else if (entries.length === 0) delete object.metadata.managedFields;
  else object.metadata.managedFields = entries;
}

// ---- server-side apply ----

export interface ApplyOptions extends FieldWrite {
  force: boolean;
}

interface Conflict {
  manager: Manager;
  path: string;
}

/** kube-apiserver's wording for a manager in a conflict: `"kubectl-edit" using kubevirt.io/v1 at <time>` for an Update. */
function printManager(m: Manager): string {
  let text = JSON.stringify(m.manager);
  if (m.subresource) text += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update')
    text += m.time ? ` using ${m.apiVersion} at ${m.time}` : ` using ${m.apiVersion}`;
  return text;
}

/** 409 Conflict with one FieldManagerConflict cause per field, worded as kube-apiserver words it. */
function applyConflict(conflicts: Conflict[]): HarrowError {
  const causes = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${printManager(c.manager)}`,
    field: c.path,
  }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0]!.manager)}: ${conflicts[0]!.path}`;
  } else {
    const byManager = new Map<string, { manager: Manager; paths: string[] }>();
    for (const c of conflicts) {
      const key = printManager(c.manager);
      const entry = byManager.get(key) ?? { manager: c.manager, paths: [] };
      entry.paths.push(c.path);
      byManager.set(key, entry);
    }
    const lines: string[] = [];
    for (const key of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${key}:`);
      for (const p of byManager.get(key)!.paths) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new HarrowError('Conflict', 409, message, { causes });
}

/**
 * Server-side apply of `config` (the applier's intent, identity fields already checked) onto `live` (undefined:
 * the object is created). Returns the object to write, with managedFields: the applier owns exactly what it sent;
 * fields it sent before and no longer does are removed unless another manager owns them; a field another manager
 * owns and this apply changes is a conflict (409) unless forced, when it changes hands.
 */
export function serverSideApply(
  live: KubeObject | undefined,
  config: Record<string, unknown>,
  base: KubeObject,
  options: ApplyOptions,
): KubeObject {
  const intent = withoutNulls(config) as Record<string, unknown>;
  const me = { manager: options.manager, operation: 'Apply' as const, ...scopeOf(options) };
  const applied = fieldValuesOf(intent, options.scope, options.statusIsSubresource);
  const appliedSet = setOf(applied);

  let managers: Manager[] = [];
  let merged: KubeObject;
  if (live) {
    managers = decodeEntries(live.metadata.managedFields, live.kind);
    if (managers.length === 0) {
      // Kubernetes hands what an object has before its first apply to the manager "before-first-apply".
      const existing = setOf(fieldValuesOf(live, options.scope, options.statusIsSubresource));
      if (existing.size > 0)
        managers.push({
          manager: 'before-first-apply',
          operation: 'Update',
          apiVersion: live.apiVersion,
          fields: existing,
        });
    }
    merged = mergeInto(structuredClone(live), intent, undefined) as KubeObject;
  } else {
    merged = mergeInto(structuredClone(base), intent, undefined) as KubeObject;
  }
  const mine = managers.find((m) => sameManager(m, me));
  const others = managers.filter((m) => m !== mine);

  // What the applier let go of and nobody else holds goes from the object.
  const released = difference(mine?.fields ?? [], appliedSet);
  const heldByOthers = withAncestors(union(...others.map((m) => m.fields)));
  for (const key of difference(released, heldByOthers)) removePath(merged, pathOfKey(key));

  const before = fieldValuesOf(
    live ?? { metadata: {} },
    options.scope,
    options.statusIsSubresource,
  );
  const after = fieldValuesOf(merged, options.scope, options.statusIsSubresource);
  const { added, modified, removed } = compareFields(before, after);
  const changed = union(added, modified);

  const conflicts: Conflict[] = [];
  for (const other of others) {
    for (const path of intersection(other.fields, changed))
      conflicts.push({ manager: other, path: pathString(pathOfKey(path)) });
  }
  if (conflicts.length > 0 && !options.force) throw applyConflict(conflicts);
  for (const other of others) other.fields = difference(other.fields, union(changed, removed));

  const fields = intersection(appliedSet, new Set(after.keys()));
  const next: Manager = {
    ...me,
    apiVersion: merged.apiVersion,
    time: mine && sameSet(mine.fields, fields) && mine.time ? mine.time : now(),
    fields,
  };
  const list = mine ? managers.map((m) => (m === mine ? next : m)) : [...managers, next];
  setManagedFields(merged, list, live);
  return merged;
}

const sameSet = (a: FieldSet, b: FieldSet): boolean =>
  a.size === b.size && [...a].every((p) => b.has(p));

function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = withoutNulls(x);
  return out;
}

/** The applied intent merged into the live value: maps field by field, keyed lists item by item, the rest replaced. */
function mergeInto(live: unknown, intent: unknown, field: string | undefined): unknown {
  if (isObject(intent)) {
    const out: Record<string, unknown> = isObject(live) ? live : {};
    for (const [k, v] of Object.entries(intent)) out[k] = mergeInto(out[k], v, k);
    return out;
  }
  if (Array.isArray(intent) && Array.isArray(live)) {
    const key = listKeyOf(field, intent);
    if (key !== undefined && listKeyOf(field, live) === key) {
      const liveItems = live as Record<string, unknown>[];
      const result = (intent as Record<string, unknown>[]).map((item) => {
        const existing = liveItems.find((l) => l[key] === item[key]);
        return mergeInto(existing ?? {}, item, field);
      });
      // Items only the live object has (another manager's) stay, after the applied ones.
      for (const l of liveItems)
        if (!(intent as Record<string, unknown>[]).some((i) => i[key] === l[key])) result.push(l);
      return result;
    }
    if (field === 'finalizers' && live.every((x) => typeof x === 'string')) {
      return [...intent, ...live.filter((x) => !intent.includes(x))];
    }
  }
  return structuredClone(intent);
}

/** Removes the field or list item a path names, with all it holds. */
function removePath(root: Record<string, unknown>, path: PathElement[]): void {
  let node: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const pe = path[i]!;
    const last = i === path.length - 1;
    if (pe.startsWith('f:')) {
      if (!isObject(node)) return;
      const name = pe.slice(2);
      if (last) delete node[name];
      else node = node[name];
    } else if (Array.isArray(node)) {
      const index = pe.startsWith('k:')
        ? indexOfKey(node, JSON.parse(pe.slice(2)) as Record<string, unknown>)
        : pe.startsWith('v:')
          ? node.indexOf(JSON.parse(pe.slice(2)) as unknown)
          : -1;
      if (index < 0) return;
      if (last) node.splice(index, 1);
      else node = node[index];
    } else return;
  }
}

const indexOfKey = (list: unknown[], key: Record<string, unknown>): number =>
  list.findIndex((item) => isObject(item) && Object.entries(key).every(([k, v]) => item[k] === v));

/** Every path in `set` and each of its ancestors: what another manager holds keeps its parents in place. */
function withAncestors(set: FieldSet): FieldSet {
  const out: FieldSet = new Set();
  for (const key of set) {
    const path = pathOfKey(key);
    for (let n = 1; n <= path.length; n++) out.add(pathKey(path.slice(0, n)));
  }
  return out;
}

// Re-exported for the tests: the spelling of elements.
export { fieldElement, keyElement, valueElement };
