// Live collections for React: list once, then follow the watch from that resourceVersion; re-list when it breaks.
// One feed per collection path is shared by every component that shows it: a browser keeps at most six HTTP/1.1
// connections per server, and each open watch holds one, so duplicate watches would starve ordinary requests.
import { useCallback, useEffect, useSyncExternalStore } from 'react';
import type { KubeObject } from '../../../src/resources/meta.ts';
import { ApiError, type ApiClient, type WatchEvent } from './client.ts';

export interface LiveList<T> {
  items: T[];
  /** A list has arrived at least once (an error before that leaves it false: nothing is known, not "none"). */
  loaded: boolean;
  /** The server's refusal (a Status); not set for a server out of reach — that is `stale`, shown by the shell. */
  error: ApiError | undefined;
  /** The last list or watch failed: `items` are what was known then, possibly out of date. */
  stale: boolean;
}

/** Whether a page may say "there are none": the list arrived, is current, and is empty. */
export const isEmpty = (l: LiveList<unknown>): boolean =>
  l.loaded && !l.stale && l.error === undefined && l.items.length === 0;

const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byName = (a: KubeObject, b: KubeObject): number =>
  a.metadata.name.localeCompare(b.metadata.name);

/** Applies one watch event to a keyed collection (pure; exported for the unit test). */
export function applyWatchEvent<T extends KubeObject>(
  items: Map<string, T>,
  e: WatchEvent<T>,
): Map<string, T> {
  if (e.type === 'BOOKMARK') return items;
  const next = new Map(items);
  if (e.type === 'DELETED') next.delete(keyOf(e.object));
  else next.set(keyOf(e.object), e.object);
  return next;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

interface Snapshot {
  map: Map<string, KubeObject>;
  items: KubeObject[];
  loaded: boolean;
  error: ApiError | undefined;
}

const EMPTY: Snapshot = { map: new Map(), items: [], loaded: false, error: undefined };
const isNetworkError = (e: ApiError | undefined): boolean => e?.reason === 'NetworkError';
/** A feed nobody uses any more lingers this long, so moving between pages that show the same collection keeps its stream. */
const LINGER_MS = 3000;

class Feed {
  snapshot: Snapshot = EMPTY;
  private readonly listeners = new Set<() => void>();
  private readonly abort = new AbortController();
  private refs = 0;
  private lingering: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly path: string,
    private readonly pollMs: number | undefined,
    private readonly onIdle: () => void,
  ) {
    // Until a component acquires it (render may create a feed that never commits), it is idle like a released one.
    this.scheduleIdle();
    void this.run();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  acquire(): void {
    this.refs += 1;
    if (this.lingering !== undefined) clearTimeout(this.lingering);
    this.lingering = undefined;
  }

  release(): void {
    this.refs -= 1;
    if (this.refs <= 0) this.scheduleIdle();
  }

  private scheduleIdle(): void {
    if (this.lingering !== undefined) clearTimeout(this.lingering);
    this.lingering = setTimeout(() => {
      if (this.refs > 0) return;
      this.abort.abort();
      this.onIdle();
    }, LINGER_MS);
  }

  private set(map: Map<string, KubeObject>, loaded: boolean, error: ApiError | undefined): void {
    this.snapshot = { map, items: [...map.values()].sort(byName), loaded, error };
    for (const l of this.listeners) l();
  }

  private pause(ms: number, signal: AbortSignal): Promise<void> {
    return this.api.connection ? this.api.connection.sleep(ms, signal) : sleep(ms, signal);
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    let backoff = 500;
    while (!signal.aborted) {
      try {
        const list = await this.api.list<KubeObject>(this.path);
        if (signal.aborted) return;
        this.set(new Map(list.items.map((o) => [keyOf(o), o])), true, undefined);
        backoff = 500;
        if (this.pollMs !== undefined) {
          await sleep(this.pollMs, signal);
          continue;
        }
        await this.api.watch<KubeObject>(
          this.path,
          list.metadata.resourceVersion,
          (e) => this.set(applyWatchEvent(this.snapshot.map, e), true, undefined),
          signal,
        );
      } catch (err) {
        if (signal.aborted) return;
        const error = err instanceof ApiError ? err : new ApiError(0, 'NetworkError', String(err));
        // A watch that expired (410) is normal: re-list at once. Anything else is shown and retried with backoff.
        // Until a list arrives nothing is known, so `loaded` stays as it was: a page never says "none" over an error.
        // A server out of reach wakes the retry as soon as it answers again (ConnectionMonitor.sleep).
        if (error.code !== 410) {
          this.set(this.snapshot.map, this.snapshot.loaded, error);
          await this.pause(backoff, signal);
          backoff = Math.min(backoff * 2, 10_000);
        }
        continue;
      }
      // The server ended the stream cleanly (its timeout): re-list after a short pause.
      await this.pause(200, signal);
    }
  }
}

const feeds = new WeakMap<ApiClient, Map<string, Feed>>();

function feedFor(api: ApiClient, path: string, pollMs: number | undefined): Feed {
  let byPath = feeds.get(api);
  if (!byPath) {
    byPath = new Map();
    feeds.set(api, byPath);
  }
  const key = `${pollMs ?? 'watch'} ${path}`;
  let feed = byPath.get(key);
  if (!feed) {
    const map = byPath;
    feed = new Feed(api, path, pollMs, () => map.delete(key));
    byPath.set(key, feed);
  }
  return feed;
}

/**
 * A collection kept current from the API. `path` null means "nothing to show (yet)". With `pollMs` the collection is
 * re-listed at that interval instead of watched (for things that rarely change, to keep connections free).
 * The server's selectors narrow what comes; `keep` filters again on the client so a server that ignores a selector
 * cannot put foreign objects on screen.
 */
export function useLiveList<T extends KubeObject>(
  api: ApiClient,
  path: string | null,
  keep?: (o: T) => boolean,
  options: { pollMs?: number } = {},
): LiveList<T> {
  const { pollMs } = options;
  useEffect(() => {
    if (path === null) return undefined;
    const feed = feedFor(api, path, pollMs);
    feed.acquire();
    return () => feed.release();
  }, [api, path, pollMs]);
  const subscribe = useCallback(
    (listener: () => void) =>
      path === null ? () => undefined : feedFor(api, path, pollMs).subscribe(listener),
    [api, path, pollMs],
  );
  const snapshot = useSyncExternalStore(subscribe, () =>
    path === null ? EMPTY : feedFor(api, path, pollMs).snapshot,
  );
  const items = (keep ? snapshot.items.filter((o) => keep(o as T)) : snapshot.items) as T[];
  return {
    items,
    loaded: snapshot.loaded,
    error: isNetworkError(snapshot.error) ? undefined : snapshot.error,
    stale: snapshot.error !== undefined,
  };
}
