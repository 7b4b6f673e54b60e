// One collection kept current from the API, without React: list, then watch from that resourceVersion, re-list when the
// watch ends or breaks; what it learns goes out as updates, which the tab that shows it or the shared worker applies.
import type { KubeObject } from '../../../src/resources/meta.ts';
import { ApiError, type ApiClient, type StatusCause, type WatchEvent } from './client.ts';
import { sleepOrWake } from './wake.ts';

/** An ApiError as plain data, so it survives postMessage (a cloned Error keeps only its message). */
export interface WireError {
  code: number;
  reason: string;
  message: string;
  causes: StatusCause[];
}

export const toWire = (e: ApiError): WireError => ({
  code: e.code,
  reason: e.reason,
  message: e.message,
  causes: e.causes,
});
export const fromWire = (e: WireError): ApiError =>
  new ApiError(e.code, e.reason, e.message, e.causes);

/** What a feed tells whoever shows it: the whole collection, one change, or a failure (what was known stays). */
export type FeedUpdate =
  | { type: 'reset'; items: KubeObject[]; loaded: boolean; error?: WireError }
  | { type: 'event'; event: WatchEvent<KubeObject> }
  | { type: 'error'; error: WireError };

export const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

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

export interface FeedState {
  map: Map<string, KubeObject>;
  loaded: boolean;
  error: WireError | undefined;
}

export const EMPTY_FEED: FeedState = { map: new Map(), loaded: false, error: undefined };

/**
 * The state after `u` (pure). Until a list arrives nothing is known, so an error leaves `loaded` as it was: a page
 * never says "none" over an error.
 */
export function applyUpdate(s: FeedState, u: FeedUpdate): FeedState {
  switch (u.type) {
    case 'reset':
      return { map: new Map(u.items.map((o) => [keyOf(o), o])), loaded: u.loaded, error: u.error };
    case 'event':
      return { map: applyWatchEvent(s.map, u.event), loaded: true, error: undefined };
    case 'error':
      return { ...s, error: u.error };
  }
}

/** The update that brings a newcomer to `s`. */
export const resetTo = (s: FeedState): FeedUpdate => ({
  type: 'reset',
  items: [...s.map.values()],
  loaded: s.loaded,
  ...(s.error ? { error: s.error } : {}),
});

/**
 * The watch streams one browser may hold open at once. Over HTTP/1.1 each holds one of the browser's six connections to
 * the server, so some must stay free for everything else; a feed that finds none free re-lists now and then instead,
 * and takes a stream as soon as one is given back.
 */
export class WatchSlots {
  private used = 0;
  private readonly waiters = new Set<() => void>();

  constructor(readonly limit: number) {}

  /** A slot and the function that gives it back, or undefined when all are taken. */
  take(): (() => void) | undefined {
    if (this.used >= this.limit) return undefined;
    this.used += 1;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.used -= 1;
      const first = this.waiters.values().next();
      if (!first.done) first.value();
    };
  }

  /** Resolves after `ms`, or earlier when a slot is given back or the signal aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    return sleepOrWake(ms, signal, this.waiters);
  }
}

/** How often a feed without a watch stream re-lists. */
export const RELIST_WITHOUT_STREAM_MS = 3000;

/**
 * Keeps `path` current until `signal` aborts, telling `emit` each update. With `pollMs` it re-lists at that interval
 * instead of watching (for things that rarely change); with `slots` it watches only while it holds one.
 */
export async function runFeed(
  api: ApiClient,
  path: string,
  emit: (u: FeedUpdate) => void,
  signal: AbortSignal,
  options: { pollMs?: number; slots?: WatchSlots } = {},
): Promise<void> {
  const { pollMs, slots } = options;
  // A server out of reach wakes the retry as soon as it answers again (ConnectionMonitor.sleep).
  const pause = (ms: number): Promise<void> =>
    api.connection ? api.connection.sleep(ms, signal) : sleepOrWake(ms, signal);
  let backoff = 500;
  while (!signal.aborted) {
    let release: (() => void) | undefined;
    try {
      const list = await api.list<KubeObject>(path);
      if (signal.aborted) return;
      emit({ type: 'reset', items: list.items, loaded: true });
      backoff = 500;
      if (pollMs !== undefined) {
        await sleepOrWake(pollMs, signal);
        continue;
      }
      release = slots?.take();
      if (slots && !release) {
        await slots.wait(RELIST_WITHOUT_STREAM_MS, signal);
        continue;
      }
      await api.watch<KubeObject>(
        path,
        list.metadata.resourceVersion,
        (event) => emit({ type: 'event', event }),
        signal,
      );
    } catch (err) {
      if (signal.aborted) return;
      const error = err instanceof ApiError ? err : new ApiError(0, 'NetworkError', String(err));
      // A watch that expired (410) is normal: re-list at once. Anything else is shown and retried with backoff.
      if (error.code !== 410) {
        emit({ type: 'error', error: toWire(error) });
        release?.();
        await pause(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
      continue;
    } finally {
      release?.();
    }
    // The server ended the stream cleanly (its timeout): re-list after a short pause.
    await pause(200);
  }
}
