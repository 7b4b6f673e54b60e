// The controller runner (controller-runtime style): shared informers (store watch + cache + indexes), a deduplicating
// work queue with per-key exponential backoff, requeue-after timers and bounded concurrency.
import { pino, type Logger } from 'pino';
import { Expired } from '../resources/errors.ts';
import type { KubeObject } from '../resources/meta.ts';
import type { ResourceStore, WatchEventType, WatchHandle } from '../store/types.ts';
import type { MetricsRegistry } from './metrics.ts';

/** What a reconcile asks for: nothing (done), or to run again after `requeueAfter` ms. A throw is retried with backoff. */
export interface Result {
  requeueAfter?: number;
}

export type Reconcile = (key: string) => Promise<Result>;

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones. */
export const objectKey = (o: KubeObject): string =>
  o.metadata.namespace === undefined || o.metadata.namespace === ''
    ? o.metadata.name
    : `${o.metadata.namespace}/${o.metadata.name}`;

/** Splits a key made by objectKey (a key without a slash is cluster-scoped). */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export const refFor = (
  kind: string,
  key: string,
): { kind: string; namespace?: string; name: string } => ({
  kind,
  ...splitKey(key),
});

export interface InformerEvent<T extends KubeObject> {
  type: WatchEventType;
  object: T;
  /** The cached state before this event, if there was one. */
  old?: T;
}

const rvNumber = (o: KubeObject): number => Number(o.metadata.resourceVersion ?? '0');

/**
 * A cache of one kind kept current by a store watch, with secondary indexes. Objects handed out are shared with the
 * cache: callers must not change them (structuredClone first).
 */
export class Informer<T extends KubeObject = KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly indexes = new Map<
    string,
    { fn: (o: T) => string[]; index: Map<string, Set<string>> }
  >();
  private readonly handlers: Array<(e: InformerEvent<T>) => void> = [];
  private handle: WatchHandle | undefined;
  private synced = false;
  private stopped = false;

  constructor(
    readonly kind: string,
    private readonly store: ResourceStore,
    private readonly logger: Logger,
  ) {}

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Adds a secondary index; must be called before start. */
  addIndex(name: string, fn: (o: T) => string[]): void {
    if (this.synced) throw new Error(`informer ${this.kind}: index ${name} added after start`);
    this.indexes.set(name, { fn, index: new Map() });
  }

  /** Handlers run synchronously on every change (keep them cheap: enqueue keys). */
  onEvent(handler: (e: InformerEvent<T>) => void): void {
    this.handlers.push(handler);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  byIndex(name: string, value: string): T[] {
    const idx = this.indexes.get(name);
    if (!idx) throw new Error(`informer ${this.kind}: no index ${name}`);
    const keys = idx.index.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.cache.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  values(): IterableIterator<T> {
    return this.cache.values();
  }

  get size(): number {
    return this.cache.size;
  }

  /** Lists every object (the resync), then watches from the list's revision so no change is missed. */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const since = await this.relist();
      try {
        const handle: WatchHandle = this.store.watch(
          this.kind,
          { sinceResourceVersion: since, onEnded: (error) => this.rewatch(handle, error) },
          (e) => this.apply(e.type, e.object as T),
        );
        this.handle = handle;
        break;
      } catch (e) {
        // The list is older than the store's retained history: list again.
        if (!(e instanceof Expired) || attempt >= 3) throw e;
      }
    }
    this.synced = true;
  }

  stop(): void {
    this.stopped = true;
    this.handle?.stop();
    this.handle = undefined;
  }

  /** The store ended the watch on its own: list again (the cache catches up, deletions included) and watch from there. */
  private rewatch(ended: WatchHandle, error: unknown): void {
    if (this.stopped || this.handle !== ended) return;
    this.handle = undefined;
    // Until the re-list is done the cache may be stale: not synced (the replica reports not ready meanwhile).
    this.synced = false;
    this.logger.warn(
      { kind: this.kind, err: error instanceof Error ? error.message : String(error) },
      'store watch ended; re-listing',
    );
    const retry = (delayMs: number): void => {
      setTimeout(() => {
        if (this.stopped) return;
        this.start().catch((e: unknown) => {
          this.logger.error(
            { kind: this.kind, err: e instanceof Error ? e.message : String(e) },
            're-list failed; retrying',
          );
          retry(Math.min(delayMs * 2, 10_000));
        });
      }, delayMs).unref();
    };
    retry(100);
  }

  private async relist(): Promise<string> {
    let since: string | undefined;
    let token: string | undefined;
    const seen = new Set<string>();
    do {
      const page = await this.store.list(this.kind, {
        limit: 1000,
        ...(token ? { continue: token } : {}),
      });
      // The first page's revision is the oldest state listed: replaying from it only repeats changes, never loses one.
      since ??= page.resourceVersion;
      for (const o of page.items) {
        seen.add(objectKey(o));
        this.apply('ADDED', o as T);
      }
      token = page.continue;
    } while (token);
    // Gone from the store while no watch told us (a re-list after the watch ended): deleted, whatever its revision.
    for (const [key, o] of [...this.cache]) if (!seen.has(key)) this.apply('DELETED', o, true);
    return since ?? '0';
  }

  private apply(type: WatchEventType, object: T, fromRelist = false): void {
    const key = objectKey(object);
    const old = this.cache.get(key);
    // A replayed change not newer than what the list already gave is stale; skip it (the newer state is cached).
    if (old && !fromRelist && rvNumber(object) <= rvNumber(old)) return;
    if (type === 'DELETED') {
      this.cache.delete(key);
      if (old) this.unindex(key, old);
    } else {
      this.cache.set(key, object);
      if (old) this.unindex(key, old);
      this.index(key, object);
    }
    const event: InformerEvent<T> = old ? { type, object, old } : { type, object };
    for (const h of this.handlers) {
      try {
        h(event);
      } catch (e) {
        this.logger.error({ err: e, kind: this.kind, key }, 'informer handler failed');
      }
    }
  }

  private index(key: string, o: T): void {
    for (const { fn, index } of this.indexes.values()) {
      for (const v of fn(o)) {
        let set = index.get(v);
        if (!set) index.set(v, (set = new Set()));
        set.add(key);
      }
    }
  }

  private unindex(key: string, o: T): void {
    for (const { fn, index } of this.indexes.values()) {
      for (const v of fn(o)) {
        const set = index.get(v);
        if (!set) continue;
        set.delete(key);
        if (set.size === 0) index.delete(v);
      }
    }
  }
}

/** Deduplicating FIFO: a key is queued at most once; a key enqueued while it is being processed runs again after. */
class WorkQueue {
  private queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();

  add(key: string): void {
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
  }

  /** The next key to work on, now marked as processing; undefined when the queue is empty. */
  take(): string | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head++] as string;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.queue.push(key);
  }

  get length(): number {
    return this.queue.length - this.head;
  }

  get active(): number {
    return this.processing.size;
  }

  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  pending(): string[] {
    return [...this.queue.slice(this.head), ...this.processing];
  }
}

/** Keys due at a time: one timer for the earliest, a binary heap for the rest, the earliest due time kept per key. */
class DelayQueue {
  private heap: Array<{ at: number; key: string }> = [];
  private readonly due = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly fire: (key: string) => void,
    private readonly now: () => number,
  ) {}

  /** Schedules `key` in `ms`; an earlier schedule of the same key wins. */
  add(key: string, ms: number): void {
    const at = this.now() + Math.max(0, ms);
    const current = this.due.get(key);
    if (current !== undefined && current <= at) return;
    this.due.set(key, at);
    this.push({ at, key });
    this.arm();
  }

  has(key: string): boolean {
    return this.due.has(key);
  }

  /** Fires what is due by now() at once, instead of when the armed timer runs (a test clock moved forward). */
  fireDue(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.run();
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    this.heap = [];
    this.due.clear();
  }

  private arm(): void {
    const top = this.heap[0];
    if (!top) return;
    if (this.timer && this.timerAt <= top.at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = top.at;
    this.timer = setTimeout(() => this.run(), Math.max(0, top.at - this.now()));
    this.timer.unref?.();
  }

  private run(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    for (let top = this.heap[0]; top && top.at <= now; top = this.heap[0]) {
      this.pop();
      // Entries superseded by an earlier schedule of the same key are skipped.
      if (this.due.get(top.key) !== top.at) continue;
      this.due.delete(top.key);
      this.fire(top.key);
    }
    this.arm();
  }

  private push(e: { at: number; key: string }): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((h[p] as { at: number }).at <= e.at) break;
      h[i] = h[p] as { at: number; key: string };
      i = p;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (!last || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && (h[r] as { at: number }).at < (h[l] as { at: number }).at ? r : l;
      if ((h[c] as { at: number }).at >= last.at) break;
      h[i] = h[c] as { at: number; key: string };
      i = c;
    }
    h[i] = last;
  }
}

export interface ControllerOptions {
  name: string;
  reconcile: Reconcile;
  /** Keys reconciled at once (default 4). */
  concurrency?: number;
  /** First retry delay after an error (default 20 ms), doubled per consecutive failure up to maxBackoffMs (30 s). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Runs once the informers are synced and before the first reconcile (e.g. adopt or clean up runtime leftovers). */
  onStart?: () => Promise<void>;
}

export interface RunnerContext {
  logger: Logger;
  metrics: MetricsRegistry;
  now: () => number;
}

/** One reconciler with its queue. Keys come from informer handlers (enqueue), timers (requeueAfter) and retries. */
export class Controller {
  readonly name: string;
  private readonly queue = new WorkQueue();
  private readonly requeues: DelayQueue;
  private readonly retries: DelayQueue;
  private readonly failures = new Map<string, number>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly concurrency: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private running = false;
  private stopped = false;
  private pumpScheduled = false;
  private readonly logger: Logger;
  private readonly reconciles;

  constructor(
    private readonly options: ControllerOptions,
    private readonly context: RunnerContext,
  ) {
    this.name = options.name;
    this.concurrency = options.concurrency ?? 4;
    this.baseBackoffMs = options.baseBackoffMs ?? 20;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.logger = context.logger.child({ controller: options.name });
    this.requeues = new DelayQueue((k) => this.enqueue(k), context.now);
    this.retries = new DelayQueue((k) => this.enqueue(k), context.now);
    this.reconciles = context.metrics.counter(
      'harrow_controller_reconcile_total',
      'Reconciles by controller and result.',
      ['controller', 'result'],
    );
  }

  enqueue(key: string): void {
    if (this.stopped) return;
    this.queue.add(key);
    this.schedulePump();
  }

  enqueueAfter(key: string, ms: number): void {
    if (this.stopped) return;
    this.requeues.add(key, ms);
  }

  /** Runs the requeue-after and retry timers that are due by the clock now (call after moving a test clock forward). */
  fireDueTimers(): void {
    if (this.stopped) return;
    this.requeues.fireDue();
    this.retries.fireDue();
  }

  /** Runs the start hook; the manager runs every controller's hook before any controller works its queue. */
  async prepare(): Promise<void> {
    if (this.options.onStart) await this.options.onStart();
  }

  run(): void {
    if (this.stopped) return;
    this.running = true;
    this.schedulePump();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    this.requeues.clear();
    this.retries.clear();
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Nothing queued, nothing running and no error retry pending (requeueAfter polls do not count). */
  get idle(): boolean {
    return this.queue.length === 0 && this.queue.active === 0 && this.failures.size === 0;
  }

  /** What keeps the controller busy, for a waitForIdle timeout message. */
  busy(): string[] {
    return [...this.queue.pending(), ...[...this.failures.keys()].map((k) => `${k} (retrying)`)];
  }

  /**
   * Store calls resolve as microtasks, so reconciles started from a finishing one would chain microtasks forever and
   * starve timers and I/O (HTTP, runtime boots). Starting work from setImmediate lets the event loop turn in between.
   */
  private schedulePump(): void {
    if (this.pumpScheduled || !this.running) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (!this.running) return;
    while (this.queue.active < this.concurrency) {
      const key = this.queue.take();
      if (key === undefined) return;
      const p = this.process(key).finally(() => {
        this.inflight.delete(p);
        this.queue.done(key);
        this.schedulePump();
      });
      this.inflight.add(p);
    }
  }

  private async process(key: string): Promise<void> {
    try {
      const result = await this.options.reconcile(key);
      this.failures.delete(key);
      if (result.requeueAfter !== undefined) this.requeues.add(key, result.requeueAfter);
      this.reconciles.inc({
        controller: this.name,
        result: result.requeueAfter !== undefined ? 'requeue' : 'success',
      });
    } catch (e) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** Math.min(n - 1, 30));
      if (!this.stopped) this.retries.add(key, delay);
      this.reconciles.inc({ controller: this.name, result: 'error' });
      const level = n > 3 ? 'warn' : 'debug';
      this.logger[level](
        { key, attempt: n, retryInMs: delay, err: e instanceof Error ? e.message : String(e) },
        'reconcile failed',
      );
    }
  }
}

export interface ManagerOptions {
  store: ResourceStore;
  metrics: MetricsRegistry;
  logger?: Logger;
  now?: () => number;
}

/** Owns the informers (one per kind, shared by every controller) and the controllers; starts and stops them together. */
export class ControllerManager {
  readonly store: ResourceStore;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  readonly now: () => number;
  private readonly informers = new Map<string, Informer>();
  private readonly controllers: Controller[] = [];
  private started = false;

  constructor(options: ManagerOptions) {
    this.store = options.store;
    this.metrics = options.metrics;
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.now = options.now ?? Date.now;
  }

  informer<T extends KubeObject>(kind: string): Informer<T> {
    let inf = this.informers.get(kind);
    if (!inf) {
      if (this.started) throw new Error(`informer ${kind} requested after start`);
      inf = new Informer(kind, this.store, this.logger);
      this.informers.set(kind, inf);
    }
    return inf as unknown as Informer<T>;
  }

  controller(options: ControllerOptions): Controller {
    const c = new Controller(options, {
      logger: this.logger,
      metrics: this.metrics,
      now: this.now,
    });
    this.controllers.push(c);
    return c;
  }

  /** Syncs every informer (listing each kind enqueues every existing object), runs the start hooks in order, then starts the controllers. */
  async start(): Promise<void> {
    this.started = true;
    await Promise.all([...this.informers.values()].map((i) => i.start()));
    for (const c of this.controllers) await c.prepare();
    for (const c of this.controllers) c.run();
  }

  /** Every informer follows the store (none is re-listing after the store ended its watch). */
  get synced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced);
  }

  async stop(): Promise<void> {
    for (const i of this.informers.values()) i.stop();
    await Promise.all(this.controllers.map((c) => c.stop()));
  }

  /** Fires every controller's timers that are due by now(): timers are real, so a test clock that jumps needs this. */
  fireDueTimers(): void {
    for (const c of this.controllers) c.fireDueTimers();
  }

  /** Resolves once every controller stays idle across a few event-loop turns; rejects naming the busy keys on timeout. */
  async waitForIdle(options: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    let stable = 0;
    while (stable < 3) {
      await new Promise((r) => setTimeout(r, stable === 0 ? 2 : 0));
      if (this.controllers.every((c) => c.idle)) stable++;
      else stable = 0;
      if (Date.now() > deadline) {
        const busy = this.controllers
          .filter((c) => !c.idle)
          .map((c) => `${c.name}: ${c.busy().slice(0, 10).join(', ')}`);
        throw new Error(
          `controllers not idle after ${options.timeoutMs ?? 30_000} ms: ${busy.join('; ')}`,
        );
      }
    }
  }
}

/** Whether an informer event matters to a controller: always on add and delete, else when `fingerprint` changed. */
export function changed<T extends KubeObject>(
  e: InformerEvent<T>,
  fingerprint: (o: T) => string,
): boolean {
  if (e.type !== 'MODIFIED' || !e.old) return true;
  return fingerprint(e.old) !== fingerprint(e.object);
}

/**
 * Remembers the last state of objects deleted from the store, per key, until a reconcile has cleaned up after them
 * (client-go's DeletedFinalStateUnknown role): the reconciler gets only the key, and a deleted object's uid is otherwise gone.
 */
export class Tombstones<T extends KubeObject = KubeObject> {
  private readonly byKey = new Map<string, T[]>();

  add(o: T): void {
    const key = objectKey(o);
    const list = this.byKey.get(key);
    if (list) {
      if (!list.some((x) => x.metadata.uid === o.metadata.uid)) list.push(o);
    } else this.byKey.set(key, [o]);
  }

  get(key: string): readonly T[] {
    return this.byKey.get(key) ?? [];
  }

  /** Forgets one deleted object once its cleanup succeeded. */
  done(key: string, uid: string | undefined): void {
    const list = this.byKey.get(key);
    if (!list) return;
    const rest = list.filter((x) => x.metadata.uid !== uid);
    if (rest.length === 0) this.byKey.delete(key);
    else this.byKey.set(key, rest);
  }
}
