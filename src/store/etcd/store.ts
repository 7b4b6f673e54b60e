// etcd implementation of ResourceStore: one key per object, resourceVersion = the key's mod_revision, every write one
// compare-and-swap Txn. This class assembles it from its parts: connection.ts (client, revisions, last-seen keys),
// transactions.ts (writes), watch.ts, compaction.ts, list.ts (reads) and keys.ts (the key layout).
import { randomUUID } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import type { KubeObject, ObjectRef } from '../../resources/meta.ts';
import { withContinue } from '../continue-token.ts';
import { namespaceKey } from '../object-meta.ts';
import type {
  ListOptions,
  ListResult,
  RawListResult,
  ResourceStore,
  WatchEvent,
  WatchHandle,
  WatchOptions,
  WriteOp,
} from '../types.ts';
import { withRv } from './batch.ts';
import { EtcdCompaction } from './compaction.ts';
import { EtcdConnection, unavailable } from './connection.ts';
import { scan } from './list.ts';
import { ReadBatch } from './read-batch.ts';
import { EtcdTransactions } from './transactions.ts';
import { EtcdWatches } from './watch.ts';

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
   * The name of this store's audit chain (default: random): its AuditRecords are chained on their own head
   * (`AuditChainHead/<name>`), so replicas never contend on one key. Every store writing at once needs its own.
   */
  auditChain?: string;
  /**
   * Called when etcd ends a watch on its own (its revision was compacted while it reconnected): the watch then delivers
   * nothing more. Default: process warning.
   */
  onWatchEnded?: (kind: string, error: unknown) => void;
}

export class EtcdStore implements ResourceStore {
  readonly client: Etcd3;
  readonly prefix: string;
  /** The name of the audit chain this store appends to. */
  readonly auditChain: string;
  private readonly conn: EtcdConnection;
  private readonly transactions: EtcdTransactions;
  private readonly watches: EtcdWatches;
  private readonly compaction: EtcdCompaction;
  private readonly reads: ReadBatch;

  constructor(options: EtcdStoreOptions) {
    if (options.endpoints.length === 0)
      throw new Error('etcd store: at least one endpoint is required');
    this.prefix = (options.prefix ?? '/harrow').replace(/\/+$/, '');
    this.conn = new EtcdConnection(options.endpoints, this.prefix, options.callTimeoutMs ?? 10_000);
    this.client = this.conn.client;
    this.auditChain = options.auditChain ?? randomUUID().slice(0, 8);
    this.transactions = new EtcdTransactions(this.conn, this.auditChain);
    this.watches = new EtcdWatches(this.conn, options);
    this.compaction = new EtcdCompaction(this.conn);
    this.reads = new ReadBatch(this.conn);
  }

  /** Reads the compaction mark and follows it, so watch() can refuse a compacted revision synchronously. */
  init(): Promise<void> {
    return this.compaction.follow();
  }

  /** Txns of this store whose compare failed because another write got in between (each cost a read and a retry). */
  get lostRaces(): number {
    return this.transactions.lostRaces;
  }

  /** False while any watch stream of this store is cut off from etcd (changes are not arriving). */
  get watchesConnected(): boolean {
    return this.conn.disconnected.size === 0;
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    const { conn } = this;
    conn.assertOpen();
    const kv = await this.reads.get(
      conn.keys.object(ref.kind, namespaceKey(ref.namespace), ref.name),
    );
    if (kv)
      conn.remember(kv.key.toString('utf8'), kv.value.toString('utf8'), Number(kv.mod_revision));
    return kv
      ? (JSON.parse(withRv(kv.value.toString('utf8'), kv.mod_revision)) as KubeObject)
      : undefined;
  }

  async list(kind: string, options: ListOptions = {}): Promise<ListResult> {
    const found = await scan(this.conn, kind, options);
    const items = found.parsed ?? found.json.map((text) => JSON.parse(text) as KubeObject);
    return withContinue({ items, resourceVersion: String(found.revision) }, found.continue);
  }

  async listRaw(kind: string, options: ListOptions = {}): Promise<RawListResult> {
    const found = await scan(this.conn, kind, options);
    return withContinue(
      { json: found.json, resourceVersion: String(found.revision) },
      found.continue,
    );
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

  commit(ops: WriteOp[]): Promise<KubeObject[]> {
    return this.transactions.commit(ops);
  }

  private async commitOne(op: WriteOp): Promise<KubeObject> {
    const [written] = await this.commit([op]);
    return written as KubeObject;
  }

  watch(kind: string, options: WatchOptions, listener: (event: WatchEvent) => void): WatchHandle {
    return this.watches.watch(kind, options, listener);
  }

  currentResourceVersion(): Promise<string> {
    return this.compaction.currentResourceVersion();
  }

  /**
   * Drops etcd's history before `resourceVersion` (default: the current revision); watches from older revisions then
   * get Expired. The mark is written first so every replica refuses those revisions at once.
   */
  compact(resourceVersion?: string): Promise<void> {
    return this.compaction.compact(resourceVersion);
  }

  /**
   * Keeps etcd's history bounded (etcd 3.4 keeps every revision until compacted, and stops taking writes at its space
   * quota): every `everyMs`, compacts to `retain` revisions before the current one. One replica (the leader) runs it.
   */
  startCompaction(
    options: { everyMs?: number; retain?: number; onError?: (error: unknown) => void } = {},
  ): { stop(): void } {
    return this.compaction.startPeriodic(options);
  }

  async close(): Promise<void> {
    if (this.conn.closed) return;
    this.conn.closed = true;
    this.watches.stopAll();
    this.compaction.stop();
    await this.conn.close();
  }
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
