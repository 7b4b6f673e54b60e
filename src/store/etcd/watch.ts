// The etcd store's watches: one etcd watch per ResourceStore watch over a kind's key range, its events turned back
// into the logical changes a batch made (from the kind's batch record where one revision wrote a key twice), resumed
// from the last event delivered after a reconnect.
import type { IWatchResponse, Watcher } from 'etcd3';
import { Expired } from '../../resources/errors.ts';
import type { KubeObject } from '../../resources/meta.ts';
import { parseRevision } from '../object-meta.ts';
import type { WatchEvent, WatchHandle, WatchOptions } from '../types.ts';
import { withRv, type BatchRecordEntry, type LogicalChange } from './batch.ts';
import { utf8, type EtcdConnection } from './connection.ts';

export interface EtcdWatchOptions {
  /** Called when a watch listener throws. Default: process warning. */
  onListenerError?: (error: unknown, event: WatchEvent) => void;
  /** Called when etcd ends a watch on its own. Default: process warning (unless the watch has onEnded). */
  onWatchEnded?: (kind: string, error: unknown) => void;
}

export class EtcdWatches {
  private readonly handles = new Set<{ stop(): void }>();

  constructor(
    private readonly conn: EtcdConnection,
    private readonly options: EtcdWatchOptions,
  ) {}

  watch(kind: string, options: WatchOptions, listener: (event: WatchEvent) => void): WatchHandle {
    const { conn } = this;
    conn.assertOpen();
    const namespace = options.namespace;
    const since = options.sinceResourceVersion;
    let next: number;
    if (since === undefined || since === '') {
      next = conn.seen + 1;
    } else {
      const after = parseRevision(since, 'sinceResourceVersion');
      if (after + 1 < conn.compacted)
        throw new Expired(`too old resource version: ${after} (${conn.compacted})`);
      next = after + 1;
    }
    const [start, end] = conn.keys.kindRange(kind);
    let watcher: Watcher | undefined;
    let stopped = false;
    const ended = (error: unknown): void => {
      if (stopped) return;
      stopped = true;
      this.handles.delete(handle);
      if (watcher) conn.disconnected.delete(watcher);
      this.options.onWatchEnded?.(kind, error);
      if (options.onEnded) options.onEnded(error);
      else if (!this.options.onWatchEnded)
        process.emitWarning(`etcd watch of ${kind} ended: ${String(error)}`, 'HarrowStoreWarning');
    };
    const begin = (): void => {
      if (stopped || conn.closed) return;
      const w = conn.client
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
      conn.trackConnection(w);
      w.on('data', (res: IWatchResponse) => {
        for (const e of res.events) {
          conn.remember(
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
        this.handles.delete(handle);
        if (watcher) conn.cancel(watcher);
      },
    };
    this.handles.add(handle);
    if (next <= conn.seen) {
      // Replaying history: ask etcd whether it still has it before opening the watch, since etcd answers a compacted
      // start by cancelling the watch, which etcd3 can pin on another watcher of the same stream.
      conn
        .range({
          key: utf8(start),
          range_end: utf8(end),
          revision: next,
          count_only: true,
        })
        .then(
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

  /** Stops every watch (the store is closing). */
  stopAll(): void {
    for (const h of [...this.handles]) h.stop();
  }

  /** The logical changes of one watch response for `kind`, in revision order. */
  private changesOf(kind: string, res: IWatchResponse): LogicalChange[] {
    const keys = this.conn.keys;
    const batchKey = keys.batch(kind);
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
        const { namespace } = keys.nameOf(kind, key);
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
}
