// Live collections for React: list once, then follow the watch from that resourceVersion; re-list when it breaks.
// One feed per collection path is shared by every component that shows it. Over HTTP/1.1 a browser keeps at most six
// connections per server and each open watch holds one, so the feeds of all of its tabs run in one shared worker
// (watch-hub.ts) that holds a few streams for all of them; over HTTP/2 each tab runs its own over the one connection.
import { useCallback, useEffect, useSyncExternalStore } from 'react';
import type { KubeObject } from '../../../src/resources/meta.ts';
import type { ApiClient, ApiError } from './client.ts';
import {
  applyUpdate,
  EMPTY_FEED,
  fromWire,
  runFeed,
  WatchSlots,
  type FeedState,
  type FeedUpdate,
} from './feed.ts';
import { HUB_WATCH_STREAMS } from './watch-hub.ts';
import { overHttp1, sharedWatchHub } from './hub-client.ts';

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

const byName = (a: KubeObject, b: KubeObject): number =>
  a.metadata.name.localeCompare(b.metadata.name);

interface Snapshot {
  items: KubeObject[];
  loaded: boolean;
  error: ApiError | undefined;
}

const EMPTY: Snapshot = { items: [], loaded: false, error: undefined };
const isNetworkError = (e: ApiError | undefined): boolean => e?.reason === 'NetworkError';
/** A feed nobody uses any more lingers this long, so moving between pages that show the same collection keeps its stream. */
const LINGER_MS = 3000;

/**
 * A tab without the shared worker over HTTP/1.1 still leaves connections free for its own requests; over HTTP/2 its
 * watches are streams of one connection and need no limit.
 */
let tabSlots: WatchSlots | null | undefined;
const slotsInTab = (): WatchSlots | undefined => {
  if (tabSlots === undefined) tabSlots = overHttp1() ? new WatchSlots(HUB_WATCH_STREAMS) : null;
  return tabSlots ?? undefined;
};

class Feed {
  snapshot: Snapshot = EMPTY;
  private state: FeedState = EMPTY_FEED;
  private readonly listeners = new Set<() => void>();
  private readonly stop: () => void;
  private refs = 0;
  private lingering: ReturnType<typeof setTimeout> | undefined;

  constructor(
    api: ApiClient,
    path: string,
    pollMs: number | undefined,
    private readonly onIdle: () => void,
  ) {
    // Until a component acquires it (render may create a feed that never commits), it is idle like a released one.
    this.scheduleIdle();
    const onUpdate = (u: FeedUpdate): void => this.apply(u);
    const hub = sharedWatchHub();
    if (hub) {
      this.stop = hub.subscribe(api.token, path, pollMs, {
        onUpdate,
        onUnauthorized: () => api.onUnauthorized(),
        monitor: api.connection,
      });
    } else {
      const abort = new AbortController();
      const slots = slotsInTab();
      void runFeed(api, path, onUpdate, abort.signal, {
        ...(pollMs !== undefined ? { pollMs } : {}),
        ...(slots ? { slots } : {}),
      });
      this.stop = () => abort.abort();
    }
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
      this.stop();
      this.onIdle();
    }, LINGER_MS);
  }

  private apply(u: FeedUpdate): void {
    this.state = applyUpdate(this.state, u);
    const { map, loaded, error } = this.state;
    this.snapshot = {
      items: [...map.values()].sort(byName),
      loaded,
      error: error ? fromWire(error) : undefined,
    };
    for (const l of this.listeners) l();
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
