// etcd implementation of ResourceStore: one key per object, resourceVersion = the key's mod_revision, every write one compare-and-swap Txn.
import { randomUUID } from 'node:crypto';
import {
  Etcd3,
  type ICompare,
  type IKeyValue,
  type IRangeRequest,
  type IRangeResponse,
  type IRequestOp,
  type IResponseHeader,
  type ITxnResponse,
  type IWatchResponse,
  type Watcher,
} from 'etcd3';
import { AUDIT_CHAIN_HEAD } from '../../audit/chain.ts';
import { BadRequest, Expired, HarrowError } from '../../resources/errors.ts';
import type { KubeObject, ObjectRef } from '../../resources/meta.ts';
import {
  GENERATE_NAME_ATTEMPTS,
  kindOf,
  kubeTimestamp,
  metadataOf,
  namespaceKey,
  parseRevision,
  refFor,
} from '../object-meta.ts';
import { encodeContinue, pageOf, withContinue } from '../continue-token.ts';
import {
  createdText,
  RetryName,
  simulateBatch,
  targetOf,
  withRv,
  type LogicalChange,
  type Slot,
  type Stored,
} from './batch.ts';
import { EtcdKeys } from './keys.ts';
import { alreadyExists } from '../status-errors.ts';
import type {
  ListOptions,
  ListResult,
  RawListResult,
  ResourceStore,
  WatchEvent,
  WatchEventType,
  WatchHandle,
  WatchOptions,
  WriteOp,
} from '../types.ts';

export interface EtcdStoreOptions {
  /** Client URLs of the etcd members, e.g. ['http://127.0.0.1:2379']. */
  endpoints: string[];
  /** Key prefix all of Harrow's keys live under. Default '/harrow'. */
  prefix?: string;
  /** Deadline of each unary etcd call. Default 10,000 ms. */
  callTimeoutMs?: number;
  /** Called when a watch listener throws. Default: process warning. */
  onListenerError?: (error: unknown, event: WatchEvent) => void;
  /**
   * Called when etcd ends a watch on its own (its revision was compacted while it reconnected): the watch then delivers
   * nothing more. Default: process warning.
   */
  onWatchEnded?: (kind: string, error: unknown) => void;
}

const LIST_CHUNK = 1000;
const MAX_CAS_ATTEMPTS = 64;
/** How many keys' last-seen states the write path keeps (about 2 KB each). */
const BASIS_ENTRIES = 10_000;
/** Like the SQLite store's change log: watches may resume from this many revisions back. */
const DEFAULT_RETAINED_REVISIONS = 100_000;

interface BatchRecordEntry {
  t: WatchEventType;
  n: string;
  j: string;
}

interface Scan {
  json: string[];
  parsed: KubeObject[] | undefined;
  revision: number;
  continue: string | undefined;
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** etcd failures (no quorum, unreachable members) reach callers as 503s, like the apiserver's storage errors. */
function unavailable(error: unknown): HarrowError {
  if (error instanceof HarrowError) return error;
  return new HarrowError(
    'ServiceUnavailable',
    503,
    `etcd: ${error instanceof Error ? error.message : String(error)}`,
  );
}

export class EtcdStore implements ResourceStore {
  readonly client: Etcd3;
  readonly prefix: string;
  private readonly keys: EtcdKeys;
  /** Highest revision any etcd answer reported: where a watch without sinceResourceVersion starts. */
  private seen = 0;
  /** etcd's compaction revision as far as this process knows (revisions below it are gone). */
  private compacted = 0;
  private readonly watchers = new Set<{ stop(): void }>();
  /** Watchers whose gRPC stream is down (etcd3 reconnects them): what they would deliver is not arriving. */
  private readonly disconnected = new Set<Watcher>();
  /**
   * The last state this process saw of recently touched keys (its writes, gets, watch events): an update's first
   * compare-and-swap is built on it, saving the read. The Txn compares mod_revision, so a stale entry only fails the
   * compare (then the write reads and retries); it can never be written over a newer state.
   */
  private readonly basis = new Map<string, Stored>();
  /** Audited commits of this process, one after the other. */
  private auditTurn: Promise<void> = Promise.resolve();
  /** Watch cancellations in flight: close() lets them finish so etcd3 has nothing left to reconnect. */
  private readonly cancelling = new Set<Promise<unknown>>();
  private compactionWatcher: Watcher | undefined;
  private closed = false;

  constructor(private readonly options: EtcdStoreOptions) {
    if (options.endpoints.length === 0)
      throw new Error('etcd store: at least one endpoint is required');
    this.prefix = (options.prefix ?? '/harrow').replace(/\/+$/, '');
    this.keys = new EtcdKeys(this.prefix);
    const timeout = options.callTimeoutMs ?? 10_000;
    this.client = new Etcd3({
      hosts: options.endpoints,
      dialTimeout: 3000,
      grpcOptions: { 'grpc.max_receive_message_length': 256 * 1024 * 1024 },
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeout }),
    });
    // etcd3 throws from inside its gRPC stream callback when a response names a watcher it lost track of (it can pin a
    // cancelled creation on the wrong watcher): that would be an uncaught exception. Report it instead.
    const manager = (this.client as unknown as { watchManager?: WatchManagerInternals })
      .watchManager;
    if (manager) {
      for (const method of ['handleResponse', 'handleCreatedResponse'] as const) {
        const original = manager[method].bind(manager);
        manager[method] = (res) => {
          try {
            original(res);
          } catch (error) {
            process.emitWarning(`etcd watch stream: ${String(error)}`, 'HarrowStoreWarning');
          }
        };
      }
    }
  }

  /** Reads the compaction mark and follows it, so watch() can refuse a compacted revision synchronously. */
  async init(): Promise<void> {
    const res = await this.rpcRange({ key: utf8(this.keys.compacted()) });
    this.noteCompacted(res.kvs[0]);
    // A watcher attached to a closed client would retry its connection forever.
    if (this.closed) return;
    const watcher = this.client
      .watch()
      .key(this.keys.compacted())
      .startRevision(String(Number(res.header.revision) + 1))
      .watcher();
    watcher.on('put', (kv: IKeyValue) => this.noteCompacted(kv));
    if (this.compactionWatcher) this.disconnected.delete(this.compactionWatcher);
    this.trackConnection(watcher);
    // A compaction can overtake this watch's creation and cancel it: read the mark again and follow from there.
    const retry = (): void => {
      if (!this.closed) this.init().catch(() => setTimeout(retry, 1000).unref());
    };
    watcher.on('error', retry);
    this.compactionWatcher = watcher;
  }

  /** False while any watch stream of this store is cut off from etcd (changes are not arriving). */
  get watchesConnected(): boolean {
    return this.disconnected.size === 0;
  }

  private trackConnection(w: Watcher): void {
    w.on('disconnected', () => this.disconnected.add(w));
    w.on('connected', () => this.disconnected.delete(w));
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    this.assertOpen();
    const res = await this.rpcRange({
      key: utf8(this.keys.object(ref.kind, namespaceKey(ref.namespace), ref.name)),
    });
    const kv = res.kvs[0];
    if (kv)
      this.remember(kv.key.toString('utf8'), kv.value.toString('utf8'), Number(kv.mod_revision));
    return kv
      ? (JSON.parse(withRv(kv.value.toString('utf8'), kv.mod_revision)) as KubeObject)
      : undefined;
  }

  async list(kind: string, options: ListOptions = {}): Promise<ListResult> {
    const scan = await this.scan(kind, options);
    const items = scan.parsed ?? scan.json.map((text) => JSON.parse(text) as KubeObject);
    return withContinue({ items, resourceVersion: String(scan.revision) }, scan.continue);
  }

  async listRaw(kind: string, options: ListOptions = {}): Promise<RawListResult> {
    const scan = await this.scan(kind, options);
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
    // uid and creationTimestamp are fixed once per call: a Txn the client retried after an ambiguous failure then
    // wrote exactly what this call wanted, and the uid tells it apart from somebody else's object.
    const uids = ops.map(() => randomUUID());
    const now = kubeTimestamp(new Date());
    const audited = ops.some((op) => op.type === 'create' && op.object.kind === 'AuditRecord');
    if (audited) {
      // Every audited commit moves the one chain head: taking them in turn here saves the Txns that would lose the race.
      const turn = this.auditTurn.then(() => this.commitRounds(ops, uids, now));
      this.auditTurn = turn.then(
        () => undefined,
        () => undefined,
      );
      return turn;
    }
    if (ops.every((op) => op.type === 'create' && (metadataOf(op.object).name ?? '') !== '')) {
      const done = await this.createAll(ops as { type: 'create'; object: KubeObject }[], uids, now);
      if (done) return done;
    }
    return this.commitRounds(ops, uids, now);
  }

  /** Read (or recall), apply, compare-and-swap; again while another write got in between. */
  private async commitRounds(ops: WriteOp[], uids: string[], now: string): Promise<KubeObject[]> {
    let nameAttempts = 0;
    for (let attempt = 0; ; attempt++) {
      let result: KubeObject[] | undefined;
      try {
        // The first round may take what it last saw of each key from memory; a stale picture only costs a retry.
        result = await this.attempt(ops, uids, now, attempt === 0);
      } catch (error) {
        if (!(error instanceof RetryName)) throw error;
        if (++nameAttempts >= GENERATE_NAME_ATTEMPTS)
          throw alreadyExists(refFor(error.kind, error.namespace, `${error.prefix}*`));
      }
      if (result) return result;
      if (attempt >= MAX_CAS_ATTEMPTS) {
        throw new HarrowError(
          'ServiceUnavailable',
          503,
          `etcd: the batch kept losing races after ${attempt + 1} attempts`,
        );
      }
    }
  }

  watch(kind: string, options: WatchOptions, listener: (event: WatchEvent) => void): WatchHandle {
    this.assertOpen();
    const namespace = options.namespace;
    const since = options.sinceResourceVersion;
    let next: number;
    if (since === undefined || since === '') {
      next = this.seen + 1;
    } else {
      const after = parseRevision(since, 'sinceResourceVersion');
      if (after + 1 < this.compacted)
        throw new Expired(`too old resource version: ${after} (${this.compacted})`);
      next = after + 1;
    }
    const [start, end] = this.keys.kindRange(kind);
    let watcher: Watcher | undefined;
    let stopped = false;
    const ended = (error: unknown): void => {
      if (stopped) return;
      stopped = true;
      this.watchers.delete(handle);
      if (watcher) this.disconnected.delete(watcher);
      this.options.onWatchEnded?.(kind, error);
      if (options.onEnded) options.onEnded(error);
      else if (!this.options.onWatchEnded)
        process.emitWarning(`etcd watch of ${kind} ended: ${String(error)}`, 'HarrowStoreWarning');
    };
    const begin = (): void => {
      if (stopped || this.closed) return;
      const w = this.client
        .watch()
        .inRange({ start: utf8(start), end: utf8(end) })
        .withPreviousKV()
        .startRevision(String(next))
        .watcher();
      watcher = w;
      // etcd3 resumes a reconnected watch from the revision in the last response header, which during a replay is the
      // store's current revision, not the last event sent: resume from the last event delivered instead.
      const pinResume = (): void => {
        w.request.start_revision = String(next);
      };
      w.on('connected', pinResume);
      this.trackConnection(w);
      w.on('data', (res: IWatchResponse) => {
        for (const e of res.events) {
          this.remember(
            e.kv.key.toString('utf8'),
            e.type === 'Put' ? e.kv.value.toString('utf8') : undefined,
            Number(e.kv.mod_revision),
          );
        }
        if (stopped) return;
        if (res.events.length === 0) {
          // A progress notification: everything up to its revision was sent.
          if (!res.created && !res.canceled) next = Math.max(next, Number(res.header.revision) + 1);
        } else {
          for (const change of this.changesOf(kind, res)) {
            if (namespace !== undefined && change.namespace !== namespace) continue;
            const event: WatchEvent = {
              type: change.type,
              object: JSON.parse(change.text) as KubeObject,
            };
            try {
              listener(event);
            } catch (error) {
              this.listenerFailed(error, event);
            }
            if (stopped) return;
          }
          next = Math.max(
            next,
            Number(res.events[res.events.length - 1]?.kv.mod_revision ?? 0) + 1,
          );
        }
        pinResume();
      });
      w.on('error', ended);
    };
    const handle = {
      stop: () => {
        if (stopped) return;
        stopped = true;
        this.watchers.delete(handle);
        if (watcher) {
          this.disconnected.delete(watcher);
          this.cancelling.add(watcher.cancel().catch(() => undefined));
        }
      },
    };
    this.watchers.add(handle);
    if (next <= this.seen) {
      // Replaying history: ask etcd whether it still has it before opening the watch, since etcd answers a compacted
      // start by cancelling the watch, which etcd3 can pin on another watcher of the same stream.
      this.rpcRange({
        key: utf8(start),
        range_end: utf8(end),
        revision: next,
        count_only: true,
      }).then(
        () => begin(),
        (error: unknown) =>
          error instanceof Expired
            ? ended(new Expired(`too old resource version: ${next - 1}`))
            : begin(),
      );
    } else {
      begin();
    }
    return handle;
  }

  async currentResourceVersion(): Promise<string> {
    this.assertOpen();
    const res = await this.rpcRange({ key: utf8(this.keys.compacted()) });
    this.noteCompacted(res.kvs[0]);
    return res.header.revision;
  }

  /**
   * Drops etcd's history before `resourceVersion` (default: the current revision); watches from older revisions then
   * get Expired. The mark is written first so every replica refuses those revisions at once.
   */
  async compact(resourceVersion?: string): Promise<void> {
    this.assertOpen();
    const current = Number(await this.currentResourceVersion());
    const upTo =
      resourceVersion === undefined ? current : parseRevision(resourceVersion, 'resourceVersion');
    if (upTo > current)
      throw new BadRequest(`cannot compact to ${upTo}: the current revision is ${current}`);
    if (upTo <= this.compacted) return;
    try {
      await this.client.put(this.keys.compacted()).value(String(upTo));
      await this.client.kv.compact({ revision: upTo, physical: true });
    } catch (error) {
      if (!/compacted/.test(String(error))) throw unavailable(error);
    }
    this.compacted = Math.max(this.compacted, upTo);
  }

  /**
   * Keeps etcd's history bounded (etcd 3.4 keeps every revision until compacted, and stops taking writes at its space
   * quota): every `everyMs`, compacts to `retain` revisions before the current one. One replica (the leader) runs it.
   */
  startCompaction(
    options: { everyMs?: number; retain?: number; onError?: (error: unknown) => void } = {},
  ): { stop(): void } {
    const retain = options.retain ?? DEFAULT_RETAINED_REVISIONS;
    const timer = setInterval(
      () => {
        void (async () => {
          const target = Number(await this.currentResourceVersion()) - retain;
          if (target > this.compacted) await this.compact(String(target));
        })().catch(options.onError ?? (() => undefined));
      },
      options.everyMs ?? 5 * 60_000,
    );
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watchers]) w.stop();
    if (this.compactionWatcher)
      this.cancelling.add(this.compactionWatcher.cancel().catch(() => undefined));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.cancelling),
      new Promise((resolve) => (timer = setTimeout(resolve, 2000))),
    ]);
    clearTimeout(timer);
    // etcd3's close() leaves its watch manager running: its gRPC stream stays open (keeping the process alive), and a
    // watcher whose cancel could not reach etcd would reconnect forever. Nothing may watch through a closed store:
    // ignore what the stream still delivers (etcd3 throws on a response for a watcher it no longer has), drop every
    // watcher and end the stream (the manager then finds no watcher to reconnect).
    const manager = (this.client as unknown as { watchManager?: WatchManagerInternals })
      .watchManager;
    if (manager) {
      manager.handleResponse = () => undefined;
      manager.handleCreatedResponse = () => undefined;
      manager.watchers = [];
      manager.stream?.cancel();
    }
    this.client.close();
  }

  // --- writes ---

  /** All creates of named objects: one Txn, no read. undefined when some key exists (the general path then explains). */
  private async createAll(
    ops: { type: 'create'; object: KubeObject }[],
    uids: string[],
    now: string,
  ): Promise<KubeObject[] | undefined> {
    const keys = new Set<string>();
    const texts: string[] = [];
    const puts: IRequestOp[] = [];
    const compare: ICompare[] = [];
    for (const [i, op] of ops.entries()) {
      const kind = kindOf(op.object);
      const meta = metadataOf(op.object);
      const namespace = namespaceKey(meta.namespace);
      const key = this.keys.object(kind, namespace, meta.name);
      if (keys.has(key)) return undefined;
      keys.add(key);
      const text = createdText(op.object, meta.name, namespace, uids[i] as string, now);
      texts.push(text);
      compare.push({
        key: utf8(key),
        target: 'Mod' as const,
        result: 'Equal' as const,
        mod_revision: 0,
      });
      puts.push({ request_put: { key: utf8(key), value: utf8(text) } });
    }
    const res = await this.txn({ compare, success: puts, failure: [] });
    if (!res.succeeded) return undefined;
    [...keys].forEach((key, i) => this.remember(key, texts[i], Number(res.header.revision)));
    return texts.map((t) => JSON.parse(withRv(t, res.header.revision)) as KubeObject);
  }

  /** One read–simulate–CAS round; undefined when another write got in between (the caller retries). */
  private async attempt(
    ops: WriteOp[],
    uids: string[],
    now: string,
    fromMemory: boolean,
  ): Promise<KubeObject[] | undefined> {
    const planned = ops.map((op) => targetOf(op, this.keys));
    const slots = new Map<string, Slot>();
    for (const t of planned) {
      if (!slots.has(t.key)) {
        slots.set(t.key, {
          key: t.key,
          kind: t.kind,
          namespace: t.namespace,
          name: t.name,
          original: undefined,
          current: undefined,
          touched: false,
          writes: 0,
        });
      }
    }
    // AuditRecords are chained: the head moves in the same Txn as the record.
    const headKey = this.keys.object(AUDIT_CHAIN_HEAD.kind, '', AUDIT_CHAIN_HEAD.name);
    if (planned.some((t) => t.kind === 'AuditRecord') && !slots.has(headKey)) {
      slots.set(headKey, {
        key: headKey,
        kind: AUDIT_CHAIN_HEAD.kind,
        namespace: '',
        name: AUDIT_CHAIN_HEAD.name,
        original: undefined,
        current: undefined,
        touched: false,
        writes: 0,
      });
    }
    // A key this process has not seen is guessed absent: the compare checks every guess.
    const guessed = fromMemory;
    if (guessed) {
      for (const slot of slots.values()) {
        slot.original = this.basis.get(slot.key);
        slot.current = slot.original?.text;
      }
    } else {
      const read = await this.txn({
        compare: [],
        success: [...slots.keys()].map((key) => ({ request_range: { key: utf8(key) } })),
        failure: [],
      });
      [...slots.values()].forEach((slot, i) => {
        const kv = read.responses[i]?.response_range.kvs[0];
        if (kv) {
          slot.original = { text: kv.value.toString('utf8'), mod: Number(kv.mod_revision) };
          slot.current = slot.original.text;
        }
      });
    }
    // A single create whose key holds our own uid: an earlier, ambiguous Txn of this very call did commit.
    const only = ops[0];
    if (ops.length === 1 && only?.type === 'create') {
      const slot = slots.get((planned[0] as { key: string }).key) as Slot;
      if (
        slot.current !== undefined &&
        (JSON.parse(slot.current) as KubeObject).metadata.uid === uids[0]
      ) {
        return [JSON.parse(withRv(slot.current, (slot.original as Stored).mod)) as KubeObject];
      }
    }
    const outputs: string[] = [];
    const changes: LogicalChange[] = [];
    try {
      simulateBatch(ops, planned, slots, uids, now, outputs, changes, slots.get(headKey));
    } catch (error) {
      // A verdict needs what etcd holds now, not what this process remembered.
      if (guessed && error instanceof HarrowError) return undefined;
      throw error;
    }
    const success: IRequestOp[] = [];
    const compare: ICompare[] = [];
    for (const slot of slots.values()) {
      compare.push({
        key: utf8(slot.key),
        target: 'Mod' as const,
        result: 'Equal' as const,
        mod_revision: slot.original?.mod ?? 0,
      });
      if (slot.current !== undefined)
        success.push({ request_put: { key: utf8(slot.key), value: utf8(slot.current) } });
      else if (slot.original) success.push({ request_delete_range: { key: utf8(slot.key) } });
    }
    const repeated = new Set([...slots.values()].filter((s) => s.writes > 1).map((s) => s.kind));
    for (const kind of repeated) {
      const record: BatchRecordEntry[] = changes
        .filter((c) => c.kind === kind)
        .map((c) => ({ t: c.type, n: c.namespace, j: c.text }));
      success.push({
        request_put: { key: utf8(this.keys.batch(kind)), value: utf8(JSON.stringify(record)) },
      });
    }
    const res = await this.txn({ compare, success, failure: [] });
    if (!res.succeeded) {
      for (const key of slots.keys()) this.basis.delete(key);
      return undefined;
    }
    for (const slot of slots.values())
      this.remember(slot.key, slot.current, Number(res.header.revision));
    return outputs.map((text) => JSON.parse(withRv(text, res.header.revision)) as KubeObject);
  }

  private async commitOne(op: WriteOp): Promise<KubeObject> {
    const [written] = await this.commit([op]);
    return written as KubeObject;
  }

  // --- reads ---

  private async scan(kind: string, options: ListOptions): Promise<Scan> {
    this.assertOpen();
    const { filter, namespace } = options;
    const { pageSize, token } = pageOf(options);
    if (token && token.revision + 1 < this.compacted) {
      throw new Expired(
        `The provided continue parameter is too old to display a consistent list result (${token.revision} < ${this.compacted}). Start a new list without the continue parameter.`,
      );
    }
    const [rangeStart, rangeEnd] = this.keys.objectsRange(kind, namespace);
    // Like the SQLite store, a continued page reads the current state after the last key and reports the first page's
    // revision; the chunks of one call read one snapshot.
    let from = token ? `${this.keys.object(kind, token.namespace, token.name)}\u0000` : rangeStart;
    const chunk =
      pageSize === undefined ? LIST_CHUNK : filter ? Math.max(pageSize + 1, 512) : pageSize + 1;
    const json: string[] = [];
    const parsed: KubeObject[] | undefined = filter ? [] : undefined;
    let snapshot: number | undefined;
    let lastKept: { namespace: string; name: string } | undefined;
    let more = false;
    for (;;) {
      const res = await this.rpcRange({
        key: utf8(from),
        range_end: utf8(rangeEnd),
        limit: chunk,
        ...(snapshot !== undefined ? { revision: snapshot } : {}),
      });
      snapshot ??= Number(res.header.revision);
      for (const kv of res.kvs) {
        const text = withRv(kv.value.toString('utf8'), kv.mod_revision);
        let object: KubeObject | undefined;
        if (filter) {
          object = JSON.parse(text) as KubeObject;
          if (!filter(object)) continue;
        }
        if (pageSize !== undefined && json.length === pageSize) {
          more = true;
          break;
        }
        json.push(text);
        if (object) parsed?.push(object);
        lastKept = this.keys.nameOf(kind, kv.key.toString('utf8'));
      }
      const last = res.kvs[res.kvs.length - 1];
      if (more || !res.more || !last) break;
      from = `${last.key.toString('utf8')}\u0000`;
    }
    const revision = token ? token.revision : (snapshot as number);
    return {
      json,
      parsed,
      revision,
      continue: more && lastKept ? encodeContinue({ revision, ...lastKept }) : undefined,
    };
  }

  /** The logical changes of one watch response for `kind`, in revision order. */
  private changesOf(kind: string, res: IWatchResponse): LogicalChange[] {
    const batchKey = this.keys.batch(kind);
    const out: LogicalChange[] = [];
    const events = res.events;
    for (let i = 0; i < events.length;) {
      const rev = events[i]?.kv.mod_revision;
      let j = i;
      while (j < events.length && events[j]?.kv.mod_revision === rev) j++;
      const group = events.slice(i, j);
      i = j;
      const record = group.find((e) => e.kv.key.toString('utf8') === batchKey && e.type === 'Put');
      if (record) {
        for (const entry of JSON.parse(record.kv.value.toString('utf8')) as BatchRecordEntry[]) {
          out.push({ type: entry.t, kind, namespace: entry.n, text: withRv(entry.j, rev ?? '0') });
        }
        continue;
      }
      for (const e of group) {
        const key = e.kv.key.toString('utf8');
        if (key === batchKey) continue;
        const { namespace } = this.keys.nameOf(kind, key);
        if (e.type === 'Put') {
          out.push({
            type: e.kv.version === '1' ? 'ADDED' : 'MODIFIED',
            kind,
            namespace,
            text: withRv(e.kv.value.toString('utf8'), e.kv.mod_revision),
          });
        } else if (e.prev_kv) {
          out.push({
            type: 'DELETED',
            kind,
            namespace,
            text: withRv(e.prev_kv.value.toString('utf8'), e.kv.mod_revision),
          });
        }
      }
    }
    return out;
  }

  // --- etcd calls ---

  private async rpcRange(request: IRangeRequest): Promise<IRangeResponse> {
    try {
      const res = await this.client.kv.range(request);
      this.note(res.header);
      return res;
    } catch (error) {
      if (/required revision has been compacted/.test(String(error))) {
        throw new Expired('The resourceVersion for the provided list is too old.');
      }
      throw unavailable(error);
    }
  }

  private async txn(request: {
    compare: ICompare[];
    success: IRequestOp[];
    failure: IRequestOp[];
  }): Promise<ITxnResponse> {
    try {
      const res = await this.client.kv.txn(request);
      this.note(res.header);
      return res;
    } catch (error) {
      throw unavailable(error);
    }
  }

  private remember(key: string, text: string | undefined, mod: number): void {
    const known = this.basis.get(key);
    if (known && known.mod >= mod) return;
    this.basis.delete(key);
    // A deleted key is forgotten rather than remembered as absent: the first round then reads it.
    if (text === undefined) return;
    this.basis.set(key, { text, mod });
    if (this.basis.size > BASIS_ENTRIES)
      this.basis.delete(this.basis.keys().next().value as string);
  }

  private note(header: IResponseHeader): void {
    const r = Number(header.revision);
    if (r > this.seen) this.seen = r;
  }

  private noteCompacted(kv: IKeyValue | undefined): void {
    const value = kv ? Number(kv.value.toString('utf8')) : 0;
    if (Number.isSafeInteger(value) && value > this.compacted) this.compacted = value;
  }

  private listenerFailed(error: unknown, event: WatchEvent): void {
    (
      this.options.onListenerError ??
      ((e, ev) =>
        process.emitWarning(
          `watch listener failed on ${ev.type} ${ev.object.kind} ${ev.object.metadata.name}: ${String(e)}`,
          'HarrowStoreWarning',
        ))
    )(error, event);
  }

  private assertOpen(): void {
    if (this.closed) throw new HarrowError('ServiceUnavailable', 503, 'the store is closed');
  }
}

/** The parts of etcd3's (unexported) WatchManager that close() has to reach. */
interface WatchManagerInternals {
  watchers: unknown[];
  stream?: { cancel(): void };
  handleResponse: (res: unknown) => void;
  handleCreatedResponse: (res: unknown) => void;
}

/** Connects to etcd (checking it answers) and returns the store; close() it to end the connection and watches. */
export async function openEtcdStore(options: EtcdStoreOptions): Promise<EtcdStore> {
  const store = new EtcdStore(options);
  try {
    await store.init();
  } catch (error) {
    await store.close();
    throw unavailable(error);
  }
  return store;
}
