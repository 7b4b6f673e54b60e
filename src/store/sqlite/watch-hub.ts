// In-process watch fan-out: per-watcher queues so every listener sees changes in revision order, even when a listener writes.
import type { KubeObject } from '../../resources/meta.ts';
import type { WatchEvent, WatchEventType, WatchHandle } from '../types.ts';

/** One committed change, kept as its stored JSON text so each listener parses its own copy. */
export interface Change {
  revision: number;
  type: WatchEventType;
  kind: string;
  namespace: string;
  name: string;
  json: string;
}

interface Watcher {
  kind: string;
  namespace: string | undefined;
  /** Changes at or below this revision were already seen by the caller (its sinceResourceVersion). */
  after: number;
  listener: (event: WatchEvent) => void;
  queue: Change[];
  /** Index of the next change to deliver; a moving head keeps a long replay O(n) rather than O(n²) with shift(). */
  head: number;
  draining: boolean;
  stopped: boolean;
}

export type ListenerErrorHandler = (error: unknown, event: WatchEvent) => void;

export class WatchHub {
  private readonly byKind = new Map<string, Set<Watcher>>();

  constructor(private readonly onListenerError: ListenerErrorHandler) {}

  /**
   * Registers a listener. `replay` (changes after `after`, already read from the log) is delivered first, starting in a
   * microtask so the caller holds the handle before its listener runs; live changes follow it in order.
   */
  add(
    kind: string,
    namespace: string | undefined,
    after: number,
    replay: Change[],
    listener: (event: WatchEvent) => void,
  ): WatchHandle {
    const w: Watcher = {
      kind,
      namespace,
      after,
      listener,
      queue: replay,
      head: 0,
      draining: false,
      stopped: false,
    };
    let set = this.byKind.get(kind);
    if (!set) this.byKind.set(kind, (set = new Set()));
    set.add(w);
    if (replay.length > 0) queueMicrotask(() => this.drain(w));
    return {
      stop: () => {
        w.stopped = true;
        w.queue = [];
        w.head = 0;
        const s = this.byKind.get(kind);
        s?.delete(w);
        if (s && s.size === 0) this.byKind.delete(kind);
      },
    };
  }

  /** Delivers committed changes synchronously, in order; called once per commit with the commit's changes. */
  publish(changes: readonly Change[]): void {
    const touched = new Set<Watcher>();
    for (const c of changes) {
      const set = this.byKind.get(c.kind);
      if (!set) continue;
      for (const w of set) {
        if (w.stopped || c.revision <= w.after) continue;
        if (w.namespace !== undefined && w.namespace !== c.namespace) continue;
        w.queue.push(c);
        touched.add(w);
      }
    }
    for (const w of touched) this.drain(w);
  }

  stopAll(): void {
    for (const set of this.byKind.values()) {
      for (const w of set) {
        w.stopped = true;
        w.queue = [];
      }
    }
    this.byKind.clear();
  }

  // A listener that writes to the store re-enters publish(); the draining flag makes the outer loop deliver the
  // nested change after the current one instead of before it.
  private drain(w: Watcher): void {
    if (w.draining) return;
    w.draining = true;
    try {
      while (!w.stopped && w.head < w.queue.length) {
        const c = w.queue[w.head++] as Change;
        const event: WatchEvent = {
          type: c.type,
          object: JSON.parse(c.json) as KubeObject,
          json: c.json,
        };
        try {
          w.listener(event);
        } catch (error) {
          this.onListenerError(error, event);
        }
      }
    } finally {
      w.draining = false;
      w.queue = w.queue.slice(w.head);
      w.head = 0;
    }
  }
}
