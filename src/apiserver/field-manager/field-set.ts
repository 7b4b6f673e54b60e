// Sets of field paths in structured-merge-diff's model: what a manager owns, read from and written to FieldsV1.
import { deepEqual } from '../patch.ts';

/**
 * One step of a path, spelled as in FieldsV1: `f:name` (a field), `k:{"name":"default"}` (the item of a keyed list),
 * `v:"foo"` (the member of a set of scalars).
 */
export type PathElement = string;
export type FieldPath = readonly PathElement[];

/** FieldsV1: a trie of path elements, `.` marking that the path itself is a member. */
export interface FieldsV1 {
  [element: string]: FieldsV1;
}

/** Marks a member that is an object or a list item (it exists; its value is its children's). */
const NODE: unique symbol = Symbol('node');
type Member = typeof NODE | { value: unknown };

/** Every member path of an object, with the value of each leaf (to tell a modified leaf from an unchanged one). */
export type FieldValues = Map<string, Member>;

/** A set of paths, each as the JSON text of its elements (a stable key). */
export type FieldSet = Set<string>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const pathKey = (path: FieldPath): string => JSON.stringify(path);
export const pathOfKey = (key: string): PathElement[] => JSON.parse(key) as PathElement[];

/**
 * Lists merged item by item, keyed like KubeVirt's and Kubernetes' list-map types (`+listType=map`): the field name
 * decides, as no schema is at hand; a list whose items lack the key (or repeat one) is atomic instead.
 */
const LIST_MAP_KEYS: Readonly<Record<string, string>> = {
  interfaces: 'name',
  networks: 'name',
  disks: 'name',
  volumes: 'name',
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  imagePullSecrets: 'name',
  ownerReferences: 'uid',
  conditions: 'type',
};
/** Lists of scalars that are sets (`+listType=set`). */
const LIST_SETS = new Set(['finalizers']);

/** The key field of a list (undefined: atomic), judged from its field name and its items. */
export function listKeyOf(field: string | undefined, list: readonly unknown[]): string | undefined {
  const key = field === undefined ? undefined : LIST_MAP_KEYS[field];
  if (key === undefined) return undefined;
  const seen = new Set<string>();
  for (const item of list) {
    if (!isObject(item) || typeof item[key] !== 'string') return undefined;
    if (seen.has(item[key])) return undefined;
    seen.add(item[key]);
  }
  return key;
}

const isScalarSet = (field: string | undefined, list: readonly unknown[]): boolean =>
  field !== undefined &&
  LIST_SETS.has(field) &&
  list.every((v) => typeof v === 'string') &&
  new Set(list).size === list.length;

export const keyElement = (key: string, value: unknown): PathElement =>
  `k:${JSON.stringify({ [key]: value })}`;
export const valueElement = (value: unknown): PathElement => `v:${JSON.stringify(value)}`;
export const fieldElement = (name: string): PathElement => `f:${name}`;

/** What the field manager never tracks (apimachinery's stripped metadata): identity and server-owned fields. */
const UNTRACKED_METADATA = new Set([
  'name',
  'namespace',
  'creationTimestamp',
  'selfLink',
  'uid',
  'clusterName',
  'generation',
  'managedFields',
  'resourceVersion',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
]);

/** Which part of an object a write owns: the main resource (all but status) or the status subresource. */
export type FieldScope = 'main' | 'status';

/** The member paths of `object` (a whole object) a write through `scope` may own, with leaf values. */
export function fieldValuesOf(
  object: Record<string, unknown>,
  scope: FieldScope,
  statusIsSubresource: boolean,
): FieldValues {
  const out: FieldValues = new Map();
  for (const [k, v] of Object.entries(object)) {
    if (k === 'apiVersion' || k === 'kind' || v === undefined) continue;
    if (scope === 'status' ? k !== 'status' : statusIsSubresource && k === 'status') continue;
    if (k === 'metadata' && isObject(v)) {
      for (const [mk, mv] of Object.entries(v)) {
        if (UNTRACKED_METADATA.has(mk) || mv === undefined) continue;
        walk(mv, [fieldElement('metadata'), fieldElement(mk)], mk, out);
      }
      continue;
    }
    walk(v, [fieldElement(k)], k, out);
  }
  return out;
}

function walk(value: unknown, path: PathElement[], field: string, out: FieldValues): void {
  if (isObject(value)) {
    out.set(pathKey(path), NODE);
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) walk(v, [...path, fieldElement(k)], k, out);
    }
    return;
  }
  if (Array.isArray(value)) {
    const key = listKeyOf(field, value);
    if (key !== undefined) {
      for (const item of value as Record<string, unknown>[])
        walk(item, [...path, keyElement(key, item[key])], field, out);
      return;
    }
    if (isScalarSet(field, value)) {
      for (const item of value) out.set(pathKey([...path, valueElement(item)]), { value: item });
      return;
    }
  }
  out.set(pathKey(path), { value });
}

export const setOf = (values: FieldValues): FieldSet => new Set(values.keys());

/** Paths added, removed, and leaves whose value changed, from `before` to `after`. */
export function compareFields(
  before: FieldValues,
  after: FieldValues,
): { added: FieldSet; modified: FieldSet; removed: FieldSet } {
  const added: FieldSet = new Set();
  const modified: FieldSet = new Set();
  const removed: FieldSet = new Set();
  for (const [path, member] of after) {
    const was = before.get(path);
    if (was === undefined) added.add(path);
    else if (member !== NODE && (was === NODE || !deepEqual(was.value, member.value)))
      modified.add(path);
    else if (member === NODE && was !== NODE) modified.add(path);
  }
  for (const path of before.keys()) if (!after.has(path)) removed.add(path);
  return { added, modified, removed };
}

export const union = (...sets: Iterable<string>[]): FieldSet => {
  const out: FieldSet = new Set();
  for (const s of sets) for (const p of s) out.add(p);
  return out;
};
export const difference = (a: Iterable<string>, b: ReadonlySet<string>): FieldSet =>
  new Set([...a].filter((p) => !b.has(p)));
export const intersection = (a: Iterable<string>, b: ReadonlySet<string>): FieldSet =>
  new Set([...a].filter((p) => b.has(p)));

/** The FieldsV1 trie of a set: `.` first, then the elements in sorted order, as apimachinery writes it. */
export function toFieldsV1(set: FieldSet): FieldsV1 {
  interface Node {
    member: boolean;
    children: Map<string, Node>;
  }
  const root: Node = { member: false, children: new Map() };
  for (const key of set) {
    let node = root;
    for (const pe of pathOfKey(key)) {
      let next = node.children.get(pe);
      if (!next) {
        next = { member: false, children: new Map() };
        node.children.set(pe, next);
      }
      node = next;
    }
    node.member = true;
  }
  const render = (node: Node): FieldsV1 => {
    const out: FieldsV1 = {};
    if (node.member && node.children.size > 0) out['.'] = {};
    for (const pe of [...node.children.keys()].sort()) out[pe] = render(node.children.get(pe)!);
    return out;
  };
  return render(root);
}

/** The set a FieldsV1 trie holds; a malformed trie is reported with the path to the bad node. */
export function fromFieldsV1(fields: unknown, where: string): FieldSet {
  const set: FieldSet = new Set();
  const visit = (node: unknown, path: PathElement[]): void => {
    if (!isObject(node))
      throw new Error(`${where}: ${pathString(path) || '(root)'} is not an object`);
    const keys = Object.keys(node);
    if (path.length > 0 && (keys.length === 0 || keys.includes('.'))) set.add(pathKey(path));
    for (const k of keys) {
      if (k === '.') continue;
      if (!/^[fkvi]:/.test(k))
        throw new Error(`${where}: ${JSON.stringify(k)} is not a path element`);
      visit(node[k], [...path, k]);
    }
  };
  visit(fields, []);
  return set;
}

/** structured-merge-diff's printed path: `.spec.template.spec.domain.devices.interfaces[name="default"].macAddress`. */
export function pathString(path: FieldPath): string {
  return path
    .map((pe) => {
      const body = pe.slice(2);
      switch (pe[0]) {
        case 'f':
          return `.${body}`;
        case 'k': {
          const key = JSON.parse(body) as Record<string, unknown>;
          return `[${Object.entries(key)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(',')}]`;
        }
        case 'v':
          return `[=${body}]`;
        default:
          return `[${body}]`;
      }
    })
    .join('');
}
