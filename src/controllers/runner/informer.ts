// An informer: a cache of one kind kept current by a store watch (re-listing when the watch expires), with secondary
// indexes and event handlers.
import type { Logger } from 'pino';
import { Expired } from '../../resources/errors.ts';
import type { KubeObject } from '../../resources/meta.ts';
import type { ResourceStore, WatchEventType, WatchHandle } from '../../store/types.ts';
import { objectKey } from './keys.ts';

export interface InformerEvent<T extends KubeObject> {
  type: WatchEventType;
  object: T;
  /** The cached state before this event, if there was one. */
  old?: T;
}

const rvNumber = (o: KubeObject): number => Number(o.metadata.resourceVersion ?? '0');

/**
 * What controllers read from an informer: its cache, secondary indexes and change events — an Informer itself, or a
 * filtered view of one (InformerView) when two controller managers of one process share a cache. Objects handed out
 * are shared with the cache: callers must not change them (structuredClone first).
 */
export interface SharedInformer<T extends KubeObject = KubeObject> {
  readonly kind: string;
  readonly hasSynced: boolean;
  /** Adds a secondary index; must be called before start. */
  addIndex(name: string, fn: (o: T) => string[]): void;
  /** Handlers run synchronously on every change (keep them cheap: enqueue keys). */
  onEvent(handler: (e: InformerEvent<T>) => void): void;
  get(key: string): T | undefined;
  byIndex(name: string, value: string): T[];
  values(): IterableIterator<T>;
  readonly size: number;
}

/**
 * A cache of one kind kept current by a store watch, with secondary indexes. Objects handed out are shared with the
 * cache: callers must not change them (structuredClone first).
 */
export class Informer<T extends KubeObject = KubeObject> implements SharedInformer<T> {
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

  hasIndex(name: string): boolean {
    return this.indexes.has(name);
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

/** Whether an informer event matters to a controller: always on add and delete, else when `fingerprint` changed. */
export function changed<T extends KubeObject>(
  e: InformerEvent<T>,
  fingerprint: (o: T) => string,
): boolean {
  if (e.type !== 'MODIFIED' || !e.old) return true;
  return fingerprint(e.old) !== fingerprint(e.object);
}

/**
 * A filtered view of an informer: only the objects `visible` keeps exist in it (a node's view: the Pods and VMIs
 * scheduled to it). Its events are those a watch of the same filtered kind gives (NodeView): an object entering the
 * view comes without `old`, one leaving it is DELETED. The view holds no copy: the process keeps one cache per kind.
 */
export class InformerView<T extends KubeObject = KubeObject> implements SharedInformer<T> {
  constructor(
    private readonly source: Informer<T>,
    private readonly visible: (o: T) => boolean,
  ) {}

  get kind(): string {
    return this.source.kind;
  }

  get hasSynced(): boolean {
    return this.source.hasSynced;
  }

  /** Indexes live on the source; one already there under this name is the same index (both sides name them alike). */
  addIndex(name: string, fn: (o: T) => string[]): void {
    if (!this.source.hasIndex(name)) this.source.addIndex(name, fn);
  }

  onEvent(handler: (e: InformerEvent<T>) => void): void {
    this.source.onEvent((e) => {
      const old = e.old && this.visible(e.old) ? e.old : undefined;
      const withOld = (type: WatchEventType): InformerEvent<T> =>
        old ? { type, object: e.object, old } : { type, object: e.object };
      if (e.type === 'DELETED') {
        if (old || this.visible(e.object)) handler(withOld('DELETED'));
      } else if (this.visible(e.object)) handler(withOld(e.type));
      else if (old) handler(withOld('DELETED'));
    });
  }

  get(key: string): T | undefined {
    const o = this.source.get(key);
    return o && this.visible(o) ? o : undefined;
  }

  byIndex(name: string, value: string): T[] {
    return this.source.byIndex(name, value).filter(this.visible);
  }

  *values(): IterableIterator<T> {
    for (const o of this.source.values()) if (this.visible(o)) yield o;
  }

  /** Counted by a pass over the source (no caller needs it often). */
  get size(): number {
    let n = 0;
    for (const o of this.source.values()) if (this.visible(o)) n++;
    return n;
  }
}
