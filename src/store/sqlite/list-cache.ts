// The list cache of the SQLite store: each listed kind's objects as their stored JSON text, in key order, kept current
// by the store's own commits (as kube-apiserver's watch cache is), so a list reads no rows and encodes nothing again.
// Each object's labels are kept beside its JSON, so a label-selected list tests them without parsing every object.

/** An object's metadata.labels (an empty set when it has none). */
export type Labels = Readonly<Record<string, string>>;

/** One object as a list returns it: its key and its stored JSON (metadata.resourceVersion included). */
export interface CachedObject {
  namespace: string;
  name: string;
  json: string;
  /** metadata.labels of `json`; undefined until a label-selected list first needs them (then read from `json`). */
  labels?: Labels;
}

/** One committed write as the cache applies it. */
export interface CachedChange {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  kind: string;
  namespace: string;
  name: string;
  json: string;
  /** metadata.labels of `json`, when the writer has them at hand (else they are read from `json` when needed). */
  labels?: Labels;
}

const NO_LABELS: Labels = Object.freeze({});

/** A copy of `labels` that no caller can change under the cache (the empty set shared). */
export function frozenLabels(labels: Record<string, string> | undefined): Labels {
  if (labels === undefined || labels === null) return NO_LABELS;
  // Only what the stored JSON holds: a key whose value is undefined is not written, so it is not a label.
  const entries = Object.entries(labels).filter(([, v]) => typeof v === 'string');
  return entries.length === 0 ? NO_LABELS : Object.freeze(Object.fromEntries(entries));
}

/** The object's labels, read from its JSON once (until the object changes). */
export function labelsOf(object: CachedObject): Labels {
  return (object.labels ??= frozenLabels(
    (JSON.parse(object.json) as { metadata?: { labels?: Record<string, string> } }).metadata
      ?.labels,
  ));
}

/**
 * SQLite's order of TEXT keys (BINARY collation: UTF-8 bytes). JavaScript compares UTF-16 code units, which agrees with
 * UTF-8 except that surrogates (U+D800–U+DFFF, the halves of characters above U+FFFF) sort before U+E000–U+FFFF there
 * and after them in UTF-8.
 */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x < 0xe000 ? x + 0x2000 : x - 0x800;
      y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    }
    return x - y;
  }
  return a.length - b.length;
}

const compareObjects = (a: CachedObject, b: CachedObject): number =>
  compareText(a.namespace, b.namespace) || compareText(a.name, b.name);

const keyOf = (namespace: string, name: string): string => `${namespace}\u0000${name}`;

/** Every object of one kind. */
export class KindList {
  private readonly byKey = new Map<string, CachedObject>();
  /** byKey's values in key order; dropped when a key comes or goes, sorted again at the next list. */
  private sorted: CachedObject[] | undefined;
  /** The items part of a full list (`{…},{…}`) as UTF-8, per namespace ('' key prefix + namespace, or '*' for all). */
  private readonly bodies = new Map<string, Buffer>();

  /** `rows` in key order, as the table's primary key gives them. */
  constructor(rows: CachedObject[]) {
    for (const row of rows) this.byKey.set(keyOf(row.namespace, row.name), row);
    this.sorted = rows;
  }

  apply(change: CachedChange): void {
    this.bodies.clear();
    const key = keyOf(change.namespace, change.name);
    if (change.type === 'DELETED') {
      if (this.byKey.delete(key)) this.sorted = undefined;
      return;
    }
    const cached = this.byKey.get(key);
    if (cached) {
      // Same key, same place in the order: the sorted array holds this very object.
      cached.json = change.json;
      cached.labels = change.labels;
      return;
    }
    this.byKey.set(key, {
      namespace: change.namespace,
      name: change.name,
      json: change.json,
      ...(change.labels ? { labels: change.labels } : {}),
    });
    this.sorted = undefined;
  }

  /** The objects of `namespace` (undefined: all), in key order; a slice the caller must not change. */
  objects(namespace: string | undefined): CachedObject[] {
    const all = (this.sorted ??= [...this.byKey.values()].sort(compareObjects));
    if (namespace === undefined) return all;
    const from = lowerBound(all, (o) => compareText(o.namespace, namespace) < 0);
    const to = lowerBound(all, (o) => compareText(o.namespace, namespace) <= 0);
    return all.slice(from, to);
  }

  /** The JSON of every object of `namespace` (undefined: all), comma-separated, encoded once until the kind changes. */
  body(namespace: string | undefined): Buffer {
    const key = namespace === undefined ? '*' : `=${namespace}`;
    let body = this.bodies.get(key);
    if (!body) {
      body = Buffer.from(
        this.objects(namespace)
          .map((o) => o.json)
          .join(','),
        'utf8',
      );
      this.bodies.set(key, body);
    }
    return body;
  }
}

/** Index of the first object after `namespace`/`name` in `objects` (in key order). */
export function indexAfter(objects: CachedObject[], namespace: string, name: string): number {
  return lowerBound(
    objects,
    (o) => (compareText(o.namespace, namespace) || compareText(o.name, name)) <= 0,
  );
}

/** The first index whose object does not satisfy `before` (objects satisfying it come first). */
function lowerBound(objects: CachedObject[], before: (o: CachedObject) => boolean): number {
  let lo = 0;
  let hi = objects.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(objects[mid] as CachedObject)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The cached kinds and the store revision they reflect. The store checks that revision against the file's before
 * each list and each group commit: another process's write to the same file moves the file's revision past it, and
 * the cache is then dropped and read again rather than trusted.
 */
export class ListCache {
  private readonly kinds = new Map<string, KindList>();

  constructor(
    /** Kinds read from the table every time: append-only logs that only grow and are seldom listed whole. */
    private readonly skipped: ReadonlySet<string>,
    public revision: number,
  ) {}

  caches(kind: string): boolean {
    return !this.skipped.has(kind);
  }

  /** The cached list of `kind`, read with `load` (rows in key order) when it is not cached yet. */
  kind(kind: string, load: () => CachedObject[]): KindList {
    let list = this.kinds.get(kind);
    if (!list) {
      list = new KindList(load());
      this.kinds.set(kind, list);
    }
    return list;
  }

  /** Forgets every kind: the file changed under the cache (see the class comment). */
  reset(revision: number): void {
    this.kinds.clear();
    this.revision = revision;
  }

  /** Applies one group's committed changes, in revision order; `revision` is the last of them. */
  apply(changes: readonly CachedChange[], revision: number): void {
    for (const change of changes) this.kinds.get(change.kind)?.apply(change);
    this.revision = revision;
  }
}
