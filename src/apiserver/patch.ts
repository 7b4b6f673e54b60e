// PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), the subset of strategic merge patch kubectl sends,
// and server-side apply's body type (applied by field-manager/managed-fields.ts, not here).
import { BadRequest, HarrowError, Invalid, fieldInvalid } from '../resources/errors.ts';

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export const PATCH_CONTENT_TYPES: Readonly<Record<string, PatchType>> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

export function patchTypeOf(contentType: string | undefined): PatchType {
  const mime = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const type = PATCH_CONTENT_TYPES[mime];
  if (!type) {
    throw new HarrowError(
      'UnsupportedMediaType',
      415,
      `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_CONTENT_TYPES).join(', ')}`,
    );
  }
  return type;
}

/** Applies a patch whose body passed its media type's schema (body-schemas.ts); patchBodyRefusal words one that did not. */
export function applyPatch(
  type: Exclude<PatchType, 'apply'>,
  target: unknown,
  patch: unknown,
): unknown {
  switch (type) {
    case 'merge':
      return mergePatch(target, patch);
    case 'strategic':
      return strategicMergePatch(target, patch as Record<string, unknown>);
    case 'json':
      return jsonPatch(target, patch as JsonPatchOp[]);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

// ---- RFC 6902 ----

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

function parsePointer(pointer: string, where: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/'))
    throw new BadRequest(
      `${where}: ${JSON.stringify(pointer)} is not a JSON pointer (it must start with '/')`,
    );
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** `/spec/template/0/name` → `spec.template[0].name`, the field-path notation of our Status causes. */
export function pointerToField(tokens: string[]): string {
  return tokens.reduce(
    (acc, t) => (/^\d+$/.test(t) || t === '-' ? `${acc}[${t}]` : acc === '' ? t : `${acc}.${t}`),
    '',
  );
}

/** A merge, strategic merge or JSON patch body that does not decode into its patch, in the words of its kind of patch (400). */
export function patchBodyRefusal(type: Exclude<PatchType, 'apply'>, patch: unknown): BadRequest {
  if (type === 'merge') return new BadRequest('a merge patch must be a JSON object');
  if (type === 'strategic') return new BadRequest('a strategic merge patch must be a JSON object');
  if (!Array.isArray(patch))
    return new BadRequest('a JSON patch must be a JSON array of operations');
  for (const [i, raw] of patch.entries()) {
    if (!isObject(raw)) return new BadRequest(`JSON patch operation ${i} is not an object`);
    const { op, path, from } = raw;
    if (typeof op !== 'string' || !OPS.has(op)) {
      return new BadRequest(
        `JSON patch operation ${i}: op ${JSON.stringify(op)} is not one of add, remove, replace, move, copy, test`,
      );
    }
    if (typeof path !== 'string')
      return new BadRequest(`JSON patch operation ${i} (${op}): "path" must be a string`);
    if ((op === 'move' || op === 'copy') && typeof from !== 'string') {
      return new BadRequest(`JSON patch operation ${i} (${op}): "from" must be a string`);
    }
    if ((op === 'add' || op === 'replace' || op === 'test') && !('value' in raw)) {
      return new BadRequest(`JSON patch operation ${i} (${op}): "value" is required`);
    }
  }
  return new BadRequest('a JSON patch must be a JSON array of operations');
}

class PatchFailure extends Error {
  constructor(
    readonly tokens: string[],
    message: string,
  ) {
    super(message);
  }
}

function arrayIndex(token: string, length: number, forAdd: boolean, tokens: string[]): number {
  if (forAdd && token === '-') return length;
  if (!/^(0|[1-9]\d*)$/.test(token))
    throw new PatchFailure(tokens, `${JSON.stringify(token)} is not an array index`);
  const i = Number(token);
  if (i > length || (!forAdd && i === length))
    throw new PatchFailure(tokens, `index ${i} is out of range (the array has ${length} elements)`);
  return i;
}

function resolveParent(doc: unknown, tokens: string[]): unknown {
  let cur = doc;
  for (let i = 0; i < tokens.length - 1; i++) {
    const t = tokens[i]!;
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false, tokens.slice(0, i + 1))];
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t];
    else throw new PatchFailure(tokens.slice(0, i + 1), 'the path does not exist');
  }
  return cur;
}

function getAt(doc: unknown, tokens: string[]): unknown {
  if (tokens.length === 0) return doc;
  const parent = resolveParent(doc, tokens);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent.length, false, tokens)];
  if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) return parent[last];
  throw new PatchFailure(tokens, 'the path does not exist');
}

/** Returns the new document (a new root when the path is the root). */
function addAt(doc: unknown, tokens: string[], value: unknown, replace: boolean): unknown {
  if (tokens.length === 0) return value;
  const parent = resolveParent(doc, tokens);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, !replace, tokens);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else if (isObject(parent)) {
    if (replace && !Object.prototype.hasOwnProperty.call(parent, last))
      throw new PatchFailure(tokens, 'the path does not exist');
    parent[last] = value;
  } else {
    throw new PatchFailure(tokens, 'the parent is neither an object nor an array');
  }
  return doc;
}

function removeAt(doc: unknown, tokens: string[]): unknown {
  if (tokens.length === 0) throw new PatchFailure(tokens, 'the document root cannot be removed');
  const parent = resolveParent(doc, tokens);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, false, tokens), 1);
  else if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, last))
    delete parent[last];
  else throw new PatchFailure(tokens, 'the path does not exist');
  return doc;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 6902 on a copy; a failed `test` or a missing path is Invalid naming the field. */
export function jsonPatch(target: unknown, ops: JsonPatchOp[]): unknown {
  let doc = structuredClone(target);
  for (const [i, op] of ops.entries()) {
    const tokens = parsePointer(op.path, `JSON patch operation ${i} (${op.op}) path`);
    try {
      switch (op.op) {
        case 'add':
          doc = addAt(doc, tokens, structuredClone(op.value), false);
          break;
        case 'replace':
          doc = addAt(doc, tokens, structuredClone(op.value), true);
          break;
        case 'remove':
          doc = removeAt(doc, tokens);
          break;
        case 'test':
          if (!deepEqual(getAt(doc, tokens), op.value)) {
            throw new PatchFailure(
              tokens,
              `test failed: the value is not ${JSON.stringify(op.value)}`,
            );
          }
          break;
        case 'move':
        case 'copy': {
          const from = parsePointer(op.from!, `JSON patch operation ${i} (${op.op}) from`);
          if (
            op.op === 'move' &&
            from.length < tokens.length &&
            from.every((t, j) => tokens[j] === t)
          ) {
            throw new PatchFailure(tokens, 'a value cannot be moved into one of its own children');
          }
          const value = structuredClone(getAt(doc, from));
          if (op.op === 'move') doc = removeAt(doc, from);
          doc = addAt(doc, tokens, value, false);
          break;
        }
      }
    } catch (e) {
      if (!(e instanceof PatchFailure)) throw e;
      const field = pointerToField(e.tokens) || '(root)';
      throw new Invalid(
        `the JSON patch could not be applied: operation ${i} (${op.op} ${op.path}): ${e.message}`,
        [fieldInvalid(field, e.message)],
      );
    }
  }
  return doc;
}

// ---- strategic merge patch (the directives kubectl apply/patch emit) ----

const ORDER = '$setElementOrder/';
const DELETE_PRIMITIVES = '$deleteFromPrimitiveList/';

const isDirectiveKey = (k: string): boolean =>
  k === '$patch' || k === '$retainKeys' || k.startsWith(ORDER) || k.startsWith(DELETE_PRIMITIVES);

function withoutDirectives(v: unknown): unknown {
  if (Array.isArray(v))
    return v.filter((e) => !(isObject(e) && e.$patch === 'delete')).map(withoutDirectives);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!isDirectiveKey(k)) out[k] = withoutDirectives(x);
  return out;
}

/**
 * Maps merge like a merge patch; a list merges by key only when kubectl sent `$setElementOrder/<list>` (whose elements
 * carry exactly the merge key, so the key is known without Go type metadata); otherwise a list is replaced.
 */
export function strategicMergePatch(target: unknown, patch: Record<string, unknown>): unknown {
  if (patch.$patch === 'replace') return withoutDirectives(patch);
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (isDirectiveKey(key)) continue;
    if (value === null) {
      delete result[key];
      continue;
    }
    const order = patch[ORDER + key];
    if (Array.isArray(value)) {
      result[key] = Array.isArray(order)
        ? mergeList(result[key], value, order)
        : withoutDirectives(value);
    } else if (isObject(value)) {
      if (value.$patch === 'delete') delete result[key];
      else result[key] = strategicMergePatch(result[key], value);
    } else {
      result[key] = value;
    }
  }
  for (const [key, order] of Object.entries(patch)) {
    if (key.startsWith(ORDER) && Array.isArray(order)) {
      const list = key.slice(ORDER.length);
      if (!(list in patch) && Array.isArray(result[list]))
        result[list] = mergeList(result[list], [], order);
    }
    if (key.startsWith(DELETE_PRIMITIVES) && Array.isArray(order)) {
      const list = key.slice(DELETE_PRIMITIVES.length);
      if (Array.isArray(result[list]))
        result[list] = (result[list] as unknown[]).filter(
          (e) => !order.some((d) => deepEqual(d, e)),
        );
    }
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const k of Object.keys(result)) if (!retain.includes(k)) delete result[k];
  }
  return result;
}

function mergeList(original: unknown, patchList: unknown[], order: unknown[]): unknown[] {
  const base = Array.isArray(original) ? original : [];
  if (patchList.some((e) => isObject(e) && e.$patch === 'replace')) {
    return withoutDirectives(
      patchList.filter((e) => !(isObject(e) && e.$patch === 'replace')),
    ) as unknown[];
  }
  const first = order[0];
  if (!isObject(first)) {
    // A merged list of primitives (finalizers and the like): union, in the order given.
    const all = [...base, ...patchList].filter(
      (v, i, a) => a.findIndex((w) => deepEqual(v, w)) === i,
    );
    return sortByOrder(all, order, (v) => v);
  }
  const keys = Object.keys(first);
  if (keys.length !== 1) return withoutDirectives(patchList) as unknown[];
  const mergeKey = keys[0]!;
  const keyOf = (e: unknown): unknown => (isObject(e) ? e[mergeKey] : undefined);
  const merged = base.map((e) => structuredClone(e));
  for (const p of patchList) {
    if (!isObject(p)) continue;
    const i = merged.findIndex((e) => deepEqual(keyOf(e), p[mergeKey]));
    if (p.$patch === 'delete') {
      if (i >= 0) merged.splice(i, 1);
    } else if (i >= 0) {
      merged[i] = strategicMergePatch(merged[i], p);
    } else {
      merged.push(strategicMergePatch({}, p));
    }
  }
  return sortByOrder(merged, order.map(keyOf), keyOf);
}

/** Elements named in `order` first, in that order; the others after, as they were. */
function sortByOrder(list: unknown[], order: unknown[], keyOf: (e: unknown) => unknown): unknown[] {
  const rank = (e: unknown): number => {
    const i = order.findIndex((o) => deepEqual(o, keyOf(e)));
    return i < 0 ? order.length : i;
  };
  return list
    .map((e, i) => ({ e, i, r: rank(e) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((x) => x.e);
}
