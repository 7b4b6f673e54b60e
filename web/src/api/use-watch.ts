// Live collections for React: list once, then follow the watch from that resourceVersion; re-list when it breaks.
import { useEffect, useState } from 'react';
import type { KubeObject } from '../../../src/resources/meta.ts';
import { ApiError, type ApiClient, type WatchEvent } from './client.ts';

export interface LiveList<T> {
  items: T[];
  loaded: boolean;
  error: ApiError | undefined;
}

const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

const byName = (a: KubeObject, b: KubeObject): number => a.metadata.name.localeCompare(b.metadata.name);

/** Applies one watch event to a keyed collection (pure; exported for the unit test). */
export function applyWatchEvent<T extends KubeObject>(items: Map<string, T>, e: WatchEvent<T>): Map<string, T> {
  if (e.type === 'BOOKMARK') return items;
  const next = new Map(items);
  if (e.type === 'DELETED') next.delete(keyOf(e.object));
  else next.set(keyOf(e.object), e.object);
  return next;
}

/**
 * A collection kept current from the API. `path` null means "nothing to watch yet".
 * The server's selectors narrow the stream; `keep` filters again on the client so a server that ignores a selector
 * cannot put foreign objects on screen.
 */
export function useLiveList<T extends KubeObject>(
  api: ApiClient,
  path: string | null,
  keep?: (o: T) => boolean,
): LiveList<T> {
  const [state, setState] = useState<{ path: string | null; map: Map<string, T>; loaded: boolean; error?: ApiError }>(
    { path, map: new Map(), loaded: false },
  );

  useEffect(() => {
    if (path === null) return undefined;
    const abort = new AbortController();
    const { signal } = abort;
    setState({ path, map: new Map(), loaded: false });
    void (async () => {
      let backoff = 500;
      while (!signal.aborted) {
        try {
          const list = await api.list<T>(path);
          if (signal.aborted) return;
          const map = new Map(list.items.map((o) => [keyOf(o), o]));
          setState({ path, map, loaded: true });
          backoff = 500;
          let resourceVersion = list.metadata.resourceVersion;
          await api.watch<T>(
            path,
            resourceVersion,
            (e) => {
              resourceVersion = e.object.metadata?.resourceVersion ?? resourceVersion;
              setState((s) => (s.path === path ? { ...s, map: applyWatchEvent(s.map, e) } : s));
            },
            signal,
          );
        } catch (err) {
          if (signal.aborted) return;
          const error = err instanceof ApiError ? err : new ApiError(0, 'NetworkError', String(err));
          // A watch that expired (410) is normal: re-list at once. Anything else is shown and retried with backoff.
          if (error.code !== 410) {
            setState((s) => (s.path === path ? { ...s, loaded: true, error } : s));
            await sleep(backoff, signal);
            backoff = Math.min(backoff * 2, 10_000);
          }
          continue;
        }
        // The server ended the stream cleanly (timeout): re-list after a short pause.
        await sleep(200, signal);
      }
    })();
    return () => abort.abort();
  }, [api, path]);

  const current = state.path === path ? state : { map: new Map<string, T>(), loaded: false, error: undefined };
  let items = [...current.map.values()];
  if (keep) items = items.filter(keep);
  items.sort(byName);
  return { items, loaded: current.loaded, error: current.error };
}
