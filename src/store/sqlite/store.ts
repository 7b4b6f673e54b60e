// SQLite implementation of ResourceStore: one file in WAL mode, a store-wide revision counter, and a change log for watch resume.
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import {
  BadRequest,
  Expired,
  HarrowError,
  Invalid,
  fieldRequired,
} from '../../resources/errors.ts';
import type { KubeObject, ObjectRef } from '../../resources/meta.ts';
import type {
  LabelsFilter,
  ListOptions,
  ListResult,
  RawListResult,
  ResourceStore,
  WatchEvent,
  WatchHandle,
  WatchOptions,
  WriteOp,
} from '../types.ts';
import {
  AUDIT_CHAIN_HEAD,
  chainHeadObject,
  sealAuditRecord,
  type AuditChainHeadObject,
} from '../../audit/chain.ts';
import { encodeContinue, pageOf, withContinue } from '../continue-token.ts';
import { migrate } from './schema.ts';
import {
  GENERATE_NAME_ATTEMPTS,
  generateNamePrefix,
  kindOf,
  kubeTimestamp,
  metadataOf,
  namespaceKey,
  parseRevision,
  randomName,
  refFor,
  updatedObject,
  withMetadata,
} from '../object-meta.ts';
import {
  alreadyExists,
  modifiedConflict,
  notFound,
  preconditionConflict,
} from '../status-errors.ts';
import { WatchHub, type Change, type ListenerErrorHandler } from './watch-hub.ts';
import { WalSync, type SyncFile } from './wal-sync.ts';
import {
  ListCache,
  frozenLabels,
  indexAfter,
  labelsOf,
  type CachedObject,
  type KindList,
  type Labels,
} from './list-cache.ts';

export interface SqliteStoreOptions {
  /**
   * `full` (default): every commit is fsynced before it is acknowledged, so an acknowledged write survives power loss
   * as well as the process being killed ("nothing acknowledged is lost"); bench/store.ts prints what it costs. The
   * fsync is a group commit run off the event loop (wal-sync.ts); until it is done the write is neither answered nor
   * sent to watchers, and a read that sees it waits for it too.
   * `normal`: WAL without an fsync per commit: a write survives the process being killed, not the machine losing power.
   */
  synchronous?: 'normal' | 'full';
  /** How the WAL is flushed to disk under `full` (default fs.fdatasync in the thread pool); tests replace it. */
  syncWal?: SyncFile;
  /** How long a write waits for another connection's lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** How many recent changes are kept for watch resume; older resourceVersions get Expired. Default 100,000. */
  changesRetained?: number;
  /** Called when a watch listener throws; the write and the other listeners are unaffected. Default: process warning. */
  onListenerError?: ListenerErrorHandler;
  /**
   * Kinds whose lists are read from the table each time instead of the list cache (list-cache.ts). Default: AuditRecord
   * and Event, append-only logs that only grow and are seldom listed whole.
   */
  uncachedKinds?: readonly string[];
}

const UNCACHED_KINDS = ['AuditRecord', 'Event'];

interface ObjectRow {
  rv: number;
  json: string;
}

interface Key {
  namespace: string;
  name: string;
}

/** A list row in raw mode: [namespace, name, json]. */
type KeyedRow = [string, string, string];

interface ChangeRow {
  rv: number;
  type: Change['type'];
  namespace: string;
  name: string;
  json: string;
}

/** One commit() call waiting for the next group transaction. */
interface PendingCommit {
  ops: WriteOp[];
  resolve: (objects: KubeObject[]) => void;
  reject: (error: unknown) => void;
}

/** A committed change, with the written object's labels for the list cache (none for a delete). */
type StoredChange = Change & { labels?: Labels };

type CommitOutcome =
  { ok: true; written: string[]; changes: StoredChange[] } | { ok: false; error: unknown };

/** The SQLite store's list options: besides `filter`, `labels` is tested on the labels the list cache keeps. */
export interface SqliteListOptions extends ListOptions {
  labels?: LabelsFilter;
}

interface Scan {
  json: string[];
  /** Parsed objects, when a filter forced parsing; parallel to json. */
  parsed: KubeObject[] | undefined;
  revision: number;
  continue: string | undefined;
  /** With `encoded`: the items as one comma-separated UTF-8 text (a whole cached list's is encoded once per change). */
  body?: Buffer;
}

/** A list answered as bytes: the items' stored JSON, comma-separated, for a caller that wraps them in a List. */
export interface EncodedListResult {
  items: Buffer;
  resourceVersion: string;
  continue?: string;
}

const DEFAULT_CHANGES_RETAINED = 100_000;

const storeClosed = (): HarrowError =>
  new HarrowError('ServiceUnavailable', 503, 'the store is closed');

/**
 * Writes are applied in call order, grouped per event-loop turn (see flush); the objects passed in are read when the
 * group is applied, so a caller must not change them before the write's promise settles.
 * Watch delivery: changes of this process's writes are delivered synchronously after their transaction commits, before
 * the write's promise resolves, in revision order. Replayed changes (sinceResourceVersion) start in a microtask after
 * watch() returns. Writes made by other processes to the same file are stored correctly but not delivered to watchers here.
 */
export class SqliteStore implements ResourceStore {
  private readonly hub: WatchHub;
  private readonly retained: number;
  /** Compaction runs in batches, so a write pays for it only once per this many changes. */
  private readonly compactionSlack: number;
  private readonly stmt;
  private readonly listStatements = new Map<string, Database.Statement>();
  private readonly groupTx: (group: PendingCommit[]) => CommitOutcome[];
  private pending: PendingCommit[] = [];
  private flushScheduled = false;
  private closed = false;
  /** First revision of each committed group whose WAL sync is still running (oldest first); its watchers wait for it. */
  private readonly unpublished: number[] = [];
  private readonly cache: ListCache;

  constructor(
    private readonly db: Database.Database,
    options: SqliteStoreOptions,
    /** Present under synchronous=full on a file: commits become durable through it (the connection runs NORMAL). */
    private readonly walSync?: WalSync,
  ) {
    this.retained = options.changesRetained ?? DEFAULT_CHANGES_RETAINED;
    if (!Number.isSafeInteger(this.retained) || this.retained < 1) {
      throw new Error(
        `changesRetained must be a positive integer, got ${String(options.changesRetained)}`,
      );
    }
    this.compactionSlack = Math.max(1, Math.min(1000, Math.floor(this.retained / 10)));
    // The chain head moves beside its record, with no change of its own for the cache to follow: never cached.
    this.cache = new ListCache(
      new Set([...(options.uncachedKinds ?? UNCACHED_KINDS), AUDIT_CHAIN_HEAD.kind]),
      0,
    );
    this.hub = new WatchHub(
      options.onListenerError ??
        ((error, event) =>
          process.emitWarning(
            `watch listener failed on ${event.type} ${event.object.kind} ${event.object.metadata.name}: ${String(error)}`,
            'HarrowStoreWarning',
          )),
    );
    this.stmt = {
      getMeta: db.prepare<[string], number>('SELECT value FROM meta WHERE key = ?').pluck(),
      setMeta: db.prepare<[number, string]>('UPDATE meta SET value = ? WHERE key = ?'),
      getObject: db.prepare<[string, string, string], ObjectRow>(
        'SELECT rv, json FROM objects WHERE kind = ? AND namespace = ? AND name = ?',
      ),
      exists: db
        .prepare<[string, string, string], number>(
          'SELECT 1 FROM objects WHERE kind = ? AND namespace = ? AND name = ?',
        )
        .pluck(),
      insertObject: db.prepare<[string, string, string, number, string]>(
        'INSERT INTO objects (kind, namespace, name, rv, json) VALUES (?, ?, ?, ?, ?)',
      ),
      upsertObject: db.prepare<[string, string, string, number, string]>(
        'INSERT INTO objects (kind, namespace, name, rv, json) VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, namespace, name) DO UPDATE SET rv = excluded.rv, json = excluded.json',
      ),
      updateObject: db.prepare<[number, string, string, string, string]>(
        'UPDATE objects SET rv = ?, json = ? WHERE kind = ? AND namespace = ? AND name = ?',
      ),
      deleteObject: db.prepare<[string, string, string]>(
        'DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?',
      ),
      insertChange: db.prepare<[number, string, string, string, string, string]>(
        'INSERT INTO changes (rv, kind, namespace, name, type, json) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      deleteChangesUpTo: db.prepare<[number]>('DELETE FROM changes WHERE rv <= ?'),
      replay: db.prepare<[number, number, string], ChangeRow>(
        'SELECT rv, type, namespace, name, json FROM changes WHERE rv > ? AND rv <= ? AND kind = ? ORDER BY rv',
      ),
      replayNamespace: db.prepare<[number, number, string, string], ChangeRow>(
        'SELECT rv, type, namespace, name, json FROM changes WHERE rv > ? AND rv <= ? AND kind = ? AND namespace = ? ORDER BY rv',
      ),
      loadKind: db
        .prepare<[string], [string, string, string]>(
          'SELECT namespace, name, json FROM objects WHERE kind = ? ORDER BY namespace, name',
        )
        .raw(),
    };
    // Called inside the group transaction, better-sqlite3 runs this as a SAVEPOINT: a failing commit() call rolls back
    // alone and the others in its group still commit.
    const one = db.transaction((ops: WriteOp[]) => this.apply(ops));
    const group = db.transaction((calls: PendingCommit[]) => {
      this.followFile(this.meta('revision'));
      return calls.map((call): CommitOutcome => {
        try {
          return { ok: true, ...one(call.ops) };
        } catch (error) {
          return { ok: false, error };
        }
      });
    });
    // IMMEDIATE takes the write lock up front: a deferred transaction that reads then writes can fail with SQLITE_BUSY
    // against another connection instead of waiting for busy_timeout.
    this.groupTx = (calls) => group.immediate(calls);
    this.cache.revision = this.meta('revision');
  }

  /** The durability this store's connection runs with, read back from SQLite (PRAGMA synchronous). */
  synchronous(): 'off' | 'normal' | 'full' | 'extra' {
    if (this.walSync) return 'full';
    const level = this.db.pragma('synchronous', { simple: true }) as number;
    return (['off', 'normal', 'full', 'extra'] as const)[level] ?? 'full';
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    this.assertOpen();
    const row = this.stmt.getObject.get(ref.kind, namespaceKey(ref.namespace), ref.name);
    await this.durable();
    return row ? (JSON.parse(row.json) as KubeObject) : undefined;
  }

  async list(kind: string, options: SqliteListOptions = {}): Promise<ListResult> {
    const scan = this.scan(kind, options);
    await this.durable();
    const items = scan.parsed ?? scan.json.map((text) => JSON.parse(text) as KubeObject);
    return withContinue({ items, resourceVersion: String(scan.revision) }, scan.continue);
  }

  /**
   * Like listRaw, with the items as one comma-separated UTF-8 text; a whole cached list is encoded once and its bytes
   * reused until the kind changes.
   */
  async listEncoded(kind: string, options: SqliteListOptions = {}): Promise<EncodedListResult> {
    // Encoded in the same synchronous scan: the bytes are those of the revision the list reports.
    const scan = this.scan(kind, options, true);
    await this.durable();
    return withContinue(
      {
        items: scan.body ?? Buffer.from(scan.json.join(','), 'utf8'),
        resourceVersion: String(scan.revision),
      },
      scan.continue,
    );
  }

  /** Like list, but each item is the object's stored JSON text (metadata.resourceVersion included). */
  async listRaw(kind: string, options: SqliteListOptions = {}): Promise<RawListResult> {
    const scan = this.scan(kind, options);
    await this.durable();
    return withContinue({ json: scan.json, resourceVersion: String(scan.revision) }, scan.continue);
  }

  async create(object: KubeObject): Promise<KubeObject> {
    return this.commitOne({ type: 'create', object });
  }

  async update(object: KubeObject): Promise<KubeObject> {
    return this.commitOne({ type: 'update', object });
  }

  async delete(ref: ObjectRef, resourceVersion?: string): Promise<KubeObject> {
    return this.commitOne(
      resourceVersion === undefined
        ? { type: 'delete', ref }
        : { type: 'delete', ref, resourceVersion },
    );
  }

  async commit(ops: WriteOp[]): Promise<KubeObject[]> {
    this.assertOpen();
    if (ops.length === 0) return [];
    return new Promise<KubeObject[]>((resolve, reject) => {
      this.pending.push({ ops, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  watch(kind: string, options: WatchOptions, listener: (event: WatchEvent) => void): WatchHandle {
    this.assertOpen();
    const namespace = options.namespace;
    const since = options.sinceResourceVersion;
    // Changes whose WAL sync is still running are not in the replay: they reach the watcher when they are published.
    const publishedUpTo =
      this.unpublished.length > 0 ? (this.unpublished[0] as number) - 1 : Number.MAX_SAFE_INTEGER;
    if (since === undefined || since === '') {
      return this.hub.add(
        kind,
        namespace,
        Math.min(this.meta('revision'), publishedUpTo),
        [],
        listener,
      );
    }
    const after = parseRevision(since, 'sinceResourceVersion');
    const replay = this.db
      .transaction(() => {
        const compacted = this.meta('compacted');
        if (after < compacted)
          throw new Expired(`too old resource version: ${after} (${compacted})`);
        const rows =
          namespace === undefined
            ? this.stmt.replay.all(after, publishedUpTo, kind)
            : this.stmt.replayNamespace.all(after, publishedUpTo, kind, namespace);
        return rows.map((r): Change => ({
          revision: r.rv,
          type: r.type,
          kind,
          namespace: r.namespace,
          name: r.name,
          json: r.json,
        }));
      })
      .deferred();
    return this.hub.add(kind, namespace, after, replay, listener);
  }

  async currentResourceVersion(): Promise<string> {
    this.assertOpen();
    const revision = this.meta('revision');
    await this.durable();
    return String(revision);
  }

  /**
   * Drops the change history up to `resourceVersion` (default: the current revision), like etcd's compact: a watch from
   * an older resourceVersion then gets Expired. The store also compacts by itself to keep `changesRetained` changes.
   */
  async compact(resourceVersion?: string): Promise<void> {
    this.assertOpen();
    this.db
      .transaction(() => {
        const current = this.meta('revision');
        const upTo =
          resourceVersion === undefined
            ? current
            : parseRevision(resourceVersion, 'resourceVersion');
        if (upTo > current)
          throw new BadRequest(`cannot compact to ${upTo}: the current revision is ${current}`);
        if (upTo <= this.meta('compacted')) return;
        this.stmt.deleteChangesUpTo.run(upTo);
        this.stmt.setMeta.run(upTo, 'compacted');
      })
      .immediate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    await this.walSync?.close();
    this.hub.stopAll();
    if (!this.db.memory && !this.db.readonly) this.db.pragma('optimize');
    this.db.close();
  }

  /**
   * Group commit: every commit() call made during one event-loop turn goes into one SQLite transaction, one savepoint
   * per call. A transaction's fixed cost (its WAL pages and write calls) then is paid once per group, not per write.
   */
  private flush(): void {
    this.flushScheduled = false;
    const calls = this.pending;
    this.pending = [];
    if (calls.length === 0) return;
    let outcomes: CommitOutcome[];
    try {
      outcomes = this.groupTx(calls);
    } catch (error) {
      // The group's own COMMIT failed (busy, disk full): no call's writes are durable.
      for (const call of calls) call.reject(error);
      return;
    }
    const applied = outcomes.flatMap((o) => (o.ok ? o.changes : []));
    const last = applied[applied.length - 1];
    // The cache follows the file at once: a list that sees these changes waits for their sync like any read.
    if (last) this.cache.apply(applied, last.revision);
    const firstRevision = applied[0]?.revision;
    if (!this.walSync) {
      this.settle(calls, outcomes, undefined);
      return;
    }
    if (firstRevision !== undefined) this.unpublished.push(firstRevision);
    // Syncs finish in commit order, so groups are published in revision order.
    const published = (syncError: unknown): void => {
      if (firstRevision !== undefined) this.unpublished.shift();
      this.settle(calls, outcomes, syncError);
    };
    this.walSync.committedNow().then(
      () => published(undefined),
      (error: unknown) => published(error ?? new Error('WAL sync failed')),
    );
  }

  /**
   * Publishes a committed group's changes and answers its calls. After a failed WAL sync the changes are still
   * published (they are in the database, and reads see them) but the calls fail: their durability is unknown.
   */
  private settle(calls: PendingCommit[], outcomes: CommitOutcome[], syncError: unknown): void {
    for (const outcome of outcomes) if (outcome.ok) this.hub.publish(outcome.changes);
    outcomes.forEach((outcome, i) => {
      const call = calls[i] as PendingCommit;
      if (!outcome.ok) call.reject(outcome.error);
      else if (syncError !== undefined) call.reject(syncError);
      else call.resolve(outcome.written.map((json) => JSON.parse(json) as KubeObject));
    });
  }

  /** Resolves once every commit a read may have seen is durable (at once unless a WAL sync is under way). */
  private durable(): Promise<void> | undefined {
    return this.walSync?.durable();
  }

  private async commitOne(op: WriteOp): Promise<KubeObject> {
    const [written] = await this.commit([op]);
    return written as KubeObject;
  }

  private assertOpen(): void {
    if (this.closed) throw storeClosed();
  }

  private meta(key: 'revision' | 'compacted'): number {
    const value = this.stmt.getMeta.get(key);
    if (value === undefined)
      throw new Error(`store meta "${key}" is missing: the database is not a Harrow store`);
    return value;
  }

  /** Runs inside the write transaction: any throw rolls back every op of the batch. */
  private apply(ops: WriteOp[]): { written: string[]; changes: StoredChange[] } {
    let revision = this.meta('revision');
    const written: string[] = [];
    const changes: StoredChange[] = [];
    for (const op of ops) {
      revision += 1;
      const change =
        op.type === 'create'
          ? this.applyCreate(op.object, revision)
          : op.type === 'update'
            ? this.applyUpdate(op.object, revision)
            : this.applyDelete(op.ref, op.resourceVersion, revision);
      this.stmt.insertChange.run(
        revision,
        change.kind,
        change.namespace,
        change.name,
        change.type,
        change.json,
      );
      written.push(change.json);
      changes.push({
        revision,
        type: change.type,
        kind: change.kind,
        namespace: change.namespace,
        name: change.name,
        json: change.json,
        ...(change.labels ? { labels: change.labels } : {}),
      });
    }
    this.stmt.setMeta.run(revision, 'revision');
    const horizon = revision - this.retained;
    if (horizon - this.meta('compacted') >= this.compactionSlack) {
      this.stmt.deleteChangesUpTo.run(horizon);
      this.stmt.setMeta.run(horizon, 'compacted');
    }
    return { written, changes };
  }

  private applyCreate(object: KubeObject, revision: number): StoredChange & { name: string } {
    const kind = kindOf(object);
    const meta = metadataOf(object);
    const namespace = namespaceKey(meta.namespace);
    let name = meta.name;
    if (name === undefined || name === '') {
      name = this.generateName(kind, namespace, meta.generateName);
    } else if (this.stmt.exists.get(kind, namespace, name) !== undefined) {
      throw alreadyExists(refFor(kind, namespace, name));
    }
    if (kind === 'AuditRecord')
      object = this.sealAudit({ ...object, metadata: { ...meta, name } }, revision);
    const json = JSON.stringify(
      withMetadata(object, {
        name,
        namespace: namespace === '' ? undefined : namespace,
        uid: randomUUID(),
        resourceVersion: String(revision),
        generation: 1,
        creationTimestamp: kubeTimestamp(new Date()),
      }),
    );
    this.stmt.insertObject.run(kind, namespace, name, revision, json);
    const labels = frozenLabels(meta.labels);
    return { revision, type: 'ADDED', kind, namespace, name, json, labels };
  }

  /**
   * Chains an AuditRecord to the previous one. Done here, inside the write transaction, so the chain follows commit order
   * with no retries; the head moves in the same transaction (a rolled-back write leaves it where it was).
   */
  private sealAudit(record: KubeObject, revision: number): KubeObject {
    const row = this.stmt.getObject.get(AUDIT_CHAIN_HEAD.kind, '', AUDIT_CHAIN_HEAD.name);
    const previous = row ? (JSON.parse(row.json) as AuditChainHeadObject).spec : undefined;
    const { record: sealed, head } = sealAuditRecord(record, previous);
    this.stmt.upsertObject.run(
      AUDIT_CHAIN_HEAD.kind,
      '',
      AUDIT_CHAIN_HEAD.name,
      revision,
      JSON.stringify(chainHeadObject(head, sealed)),
    );
    return sealed;
  }

  private applyUpdate(object: KubeObject, revision: number): StoredChange & { name: string } {
    const kind = kindOf(object);
    const meta = metadataOf(object);
    const namespace = namespaceKey(meta.namespace);
    const name = meta.name;
    if (typeof name !== 'string' || name === '') {
      throw new Invalid('name is required', [fieldRequired('metadata.name', 'name is required')]);
    }
    const ref = refFor(kind, namespace, name);
    const row = this.stmt.getObject.get(kind, namespace, name);
    if (!row) throw notFound(ref);
    const wanted = meta.resourceVersion;
    if (wanted !== undefined && wanted !== '' && wanted !== String(row.rv))
      throw modifiedConflict(ref);
    const updated = updatedObject(
      object,
      JSON.parse(row.json) as KubeObject,
      name,
      namespace,
      String(revision),
    );
    const json = JSON.stringify(updated);
    this.stmt.updateObject.run(revision, json, kind, namespace, name);
    const labels = frozenLabels(updated.metadata.labels);
    return { revision, type: 'MODIFIED', kind, namespace, name, json, labels };
  }

  private applyDelete(
    ref: ObjectRef,
    wanted: string | undefined,
    revision: number,
  ): StoredChange & { name: string } {
    const namespace = namespaceKey(ref.namespace);
    const row = this.stmt.getObject.get(ref.kind, namespace, ref.name);
    if (!row) throw notFound(ref);
    if (wanted !== undefined && wanted !== '' && wanted !== String(row.rv)) {
      throw preconditionConflict(ref, wanted, String(row.rv));
    }
    const last = JSON.parse(row.json) as KubeObject;
    last.metadata.resourceVersion = String(revision);
    const json = JSON.stringify(last);
    this.stmt.deleteObject.run(ref.kind, namespace, ref.name);
    return { revision, type: 'DELETED', kind: ref.kind, namespace, name: ref.name, json };
  }

  private generateName(kind: string, namespace: string, generateName: string | undefined): string {
    const prefix = generateNamePrefix(generateName);
    for (let attempt = 0; attempt < GENERATE_NAME_ATTEMPTS; attempt++) {
      const name = randomName(prefix);
      if (this.stmt.exists.get(kind, namespace, name) === undefined) return name;
    }
    throw alreadyExists(refFor(kind, namespace, `${prefix}*`));
  }

  private scan(kind: string, options: SqliteListOptions, encoded = false): Scan {
    this.assertOpen();
    const { namespace, labels } = options;
    let { filter } = options;
    const { pageSize, token } = pageOf(options);
    const cursor = token ? { namespace: token.namespace, name: token.name } : undefined;
    return this.db
      .transaction((): Scan => {
        let revision: number;
        if (token) {
          const compacted = this.meta('compacted');
          if (token.revision < compacted) {
            throw new Expired(
              `The provided continue parameter is too old to display a consistent list result (${token.revision} < ${compacted}). Start a new list without the continue parameter.`,
            );
          }
          revision = token.revision;
        } else {
          revision = this.meta('revision');
        }
        if (this.cache.caches(kind)) {
          this.followFile(token ? this.meta('revision') : revision);
          const list = this.cache.kind(kind, () => this.loadKind(kind));
          const scan = scanCached(list, namespace, cursor, pageSize, { filter, labels }, revision);
          const whole = cursor === undefined && !labels;
          return encoded ? withBody(scan, list, namespace, whole) : scan;
        }
        // A kind read from the table: its labels are those of the parsed object.
        if (labels) filter = selecting(labels, filter);
        if (pageSize === undefined && !filter) {
          // The common large list: only the JSON column, no per-row objects.
          return {
            json: this.fetchJson(kind, namespace, cursor),
            parsed: undefined,
            revision,
            continue: undefined,
          };
        }
        const page = this.scanPage(kind, namespace, cursor, pageSize, filter);
        return {
          json: page.json,
          parsed: page.parsed,
          revision,
          continue: page.last ? encodeContinue({ revision, ...page.last }) : undefined,
        };
      })
      .deferred();
  }

  /** A page of matching rows; `last` is set when more matching rows follow it. */
  private scanPage(
    kind: string,
    namespace: string | undefined,
    from: Key | undefined,
    pageSize: number | undefined,
    filter: ((o: KubeObject) => boolean) | undefined,
  ): { json: string[]; parsed: KubeObject[] | undefined; last: Key | undefined } {
    // One row more than the page tells whether a next page exists; with a filter, read in larger chunks since rows may
    // be skipped.
    const chunk =
      pageSize === undefined ? 1024 : filter ? Math.max(pageSize + 1, 512) : pageSize + 1;
    const json: string[] = [];
    const parsed: KubeObject[] | undefined = filter ? [] : undefined;
    let lastKept: Key | undefined;
    let cursor = from;
    for (;;) {
      const batch = this.fetchKeyed(kind, namespace, cursor, chunk);
      for (const [ns, name, text] of batch) {
        let object: KubeObject | undefined;
        if (filter) {
          object = JSON.parse(text) as KubeObject;
          if (!filter(object)) continue;
        }
        if (pageSize !== undefined && json.length === pageSize)
          return { json, parsed, last: lastKept };
        json.push(text);
        if (object) parsed?.push(object);
        lastKept = { namespace: ns, name };
      }
      const last = batch[batch.length - 1];
      if (batch.length < chunk || !last) return { json, parsed, last: undefined };
      cursor = { namespace: last[0], name: last[1] };
    }
  }

  /** Drops the list cache when the file's revision is not the one the cache reflects: another process wrote to it. */
  private followFile(fileRevision: number): void {
    if (fileRevision !== this.cache.revision) this.cache.reset(fileRevision);
  }

  private loadKind(kind: string): CachedObject[] {
    return this.stmt.loadKind
      .all(kind)
      .map(([namespace, name, json]) => ({ namespace, name, json }));
  }

  private fetchJson(kind: string, namespace: string | undefined, after: Key | undefined): string[] {
    return this.listStatement('json', namespace !== undefined, after !== undefined, false)
      .pluck()
      .all(...listParams(kind, namespace, after, undefined)) as string[];
  }

  private fetchKeyed(
    kind: string,
    namespace: string | undefined,
    after: Key | undefined,
    limit: number,
  ): KeyedRow[] {
    return this.listStatement('keyed', namespace !== undefined, after !== undefined, true)
      .raw()
      .all(...listParams(kind, namespace, after, limit)) as KeyedRow[];
  }

  private listStatement(
    columns: 'json' | 'keyed',
    byNamespace: boolean,
    after: boolean,
    limited: boolean,
  ): Database.Statement {
    const key = `${columns}/${byNamespace}/${after}/${limited}`;
    let stmt = this.listStatements.get(key);
    if (!stmt) {
      // The clauses are chosen so SQLite walks the primary-key index in key order and never sorts.
      const where = ['kind = ?'];
      if (byNamespace) where.push('namespace = ?');
      if (after) where.push(byNamespace ? 'name > ?' : '(namespace, name) > (?, ?)');
      stmt = this.db.prepare(
        `SELECT ${columns === 'json' ? 'json' : 'namespace, name, json'} FROM objects WHERE ${where.join(' AND ')} ORDER BY namespace, name${limited ? ' LIMIT ?' : ''}`,
      );
      this.listStatements.set(key, stmt);
    }
    return stmt;
  }
}

/** `filter` and also `labels`, both tested on the parsed object. */
function selecting(
  labels: LabelsFilter,
  filter: ((o: KubeObject) => boolean) | undefined,
): (o: KubeObject) => boolean {
  return (o) => labels(frozenLabels(o.metadata.labels)) && (filter === undefined || filter(o));
}

/**
 * The scan with its items encoded: a whole list (no cursor, limit, filter or labels: `unselected` from the start) as the
 * cache keeps it, else joined now.
 */
function withBody(
  scan: Scan,
  list: KindList,
  namespace: string | undefined,
  unselected: boolean,
): Scan {
  const whole = unselected && scan.continue === undefined && scan.parsed === undefined;
  return {
    ...scan,
    body: whole ? list.body(namespace) : Buffer.from(scan.json.join(','), 'utf8'),
  };
}

/**
 * A list (or a page of it) out of the cache, with the same paging and filtering as a table scan; `labels` is tested on
 * the cached labels first, so only the objects it keeps are parsed for `filter` (none when there is no filter).
 */
function scanCached(
  list: KindList,
  namespace: string | undefined,
  from: Key | undefined,
  pageSize: number | undefined,
  select: { filter: ((o: KubeObject) => boolean) | undefined; labels: LabelsFilter | undefined },
  revision: number,
): Scan {
  const { filter, labels } = select;
  const objects = list.objects(namespace);
  let i = from ? indexAfter(objects, from.namespace, from.name) : 0;
  if (pageSize === undefined && !filter && !labels) {
    return {
      json: (i === 0 ? objects : objects.slice(i)).map((o) => o.json),
      parsed: undefined,
      revision,
      continue: undefined,
    };
  }
  const json: string[] = [];
  const parsed: KubeObject[] | undefined = filter ? [] : undefined;
  let lastKept: Key | undefined;
  for (; i < objects.length; i++) {
    const cached = objects[i] as CachedObject;
    if (labels && !labels(labelsOf(cached))) continue;
    let object: KubeObject | undefined;
    if (filter) {
      object = JSON.parse(cached.json) as KubeObject;
      if (!filter(object)) continue;
    }
    if (pageSize !== undefined && json.length === pageSize)
      return {
        json,
        parsed,
        revision,
        continue: lastKept ? encodeContinue({ revision, ...lastKept }) : undefined,
      };
    json.push(cached.json);
    if (object) parsed?.push(object);
    lastKept = { namespace: cached.namespace, name: cached.name };
  }
  return { json, parsed, revision, continue: undefined };
}

function listParams(
  kind: string,
  namespace: string | undefined,
  after: Key | undefined,
  limit: number | undefined,
): (string | number)[] {
  const params: (string | number)[] = [kind];
  if (namespace !== undefined) params.push(namespace);
  if (after !== undefined) {
    if (namespace !== undefined) params.push(after.name);
    else params.push(after.namespace, after.name);
  }
  if (limit !== undefined) params.push(limit);
  return params;
}

/** Opens (creating if needed) a store at `path`; `:memory:` gives a private in-memory store for tests. */
export async function openSqliteStore(
  path: string,
  options: SqliteStoreOptions = {},
): Promise<SqliteStore> {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    // FULL on a file is a group commit of this store's own (wal-sync.ts): the connection itself then runs NORMAL.
    const groupSync = options.synchronous !== 'normal' && !db.memory;
    db.pragma(`synchronous = ${options.synchronous === 'normal' || groupSync ? 'NORMAL' : 'FULL'}`);
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    db.pragma('cache_size = -32768');
    db.pragma('temp_store = MEMORY');
    // Checkpoints fsync the database file; doing them every 16 MB of WAL instead of every 4 MB saves ~15% per write.
    db.pragma('wal_autocheckpoint = 4000');
    // Bounds the WAL file left behind after a burst of writes (it is truncated to this size at checkpoints).
    db.pragma('journal_size_limit = 67108864');
    migrate(db);
    return new SqliteStore(
      db,
      options,
      groupSync ? WalSync.open(db.name, options.syncWal) : undefined,
    );
  } catch (error) {
    db.close();
    throw error;
  }
}
