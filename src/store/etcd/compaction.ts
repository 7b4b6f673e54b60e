// The etcd store's compaction: the mark every replica follows (so a watch or a continue token from a compacted
// revision is refused at once), compacting to a revision, and the leader's periodic compaction that keeps etcd's
// history bounded.
import type { IKeyValue, Watcher } from 'etcd3';
import { BadRequest } from '../../resources/errors.ts';
import { parseRevision } from '../object-meta.ts';
import { unavailable, utf8, type EtcdConnection } from './connection.ts';

/** Like the SQLite store's change log: watches may resume from this many revisions back. */
const DEFAULT_RETAINED_REVISIONS = 100_000;

export class EtcdCompaction {
  private watcher: Watcher | undefined;

  constructor(private readonly conn: EtcdConnection) {}

  /** Reads the compaction mark and follows it, so watch() can refuse a compacted revision synchronously. */
  async follow(): Promise<void> {
    const { conn } = this;
    const res = await conn.range({ key: utf8(conn.keys.compacted()) });
    conn.noteCompacted(res.kvs[0]);
    // A watcher attached to a closed client would retry its connection forever.
    if (conn.closed) return;
    const watcher = conn.client
      .watch()
      .key(conn.keys.compacted())
      .startRevision(String(Number(res.header.revision) + 1))
      .watcher();
    watcher.on('put', (kv: IKeyValue) => conn.noteCompacted(kv));
    if (this.watcher) conn.disconnected.delete(this.watcher);
    conn.trackConnection(watcher);
    // A compaction can overtake this watch's creation and cancel it: read the mark again and follow from there.
    const retry = (): void => {
      if (!conn.closed) this.follow().catch(() => setTimeout(retry, 1000).unref());
    };
    watcher.on('error', retry);
    this.watcher = watcher;
  }

  /** Stops following the mark (the store is closing). */
  stop(): void {
    if (this.watcher) this.conn.cancelling.add(this.watcher.cancel().catch(() => undefined));
  }

  async currentResourceVersion(): Promise<string> {
    const { conn } = this;
    conn.assertOpen();
    const res = await conn.range({ key: utf8(conn.keys.compacted()) });
    conn.noteCompacted(res.kvs[0]);
    return res.header.revision;
  }

  /**
   * Drops etcd's history before `resourceVersion` (default: the current revision); watches from older revisions then
   * get Expired. The mark is written first so every replica refuses those revisions at once.
   */
  async compact(resourceVersion?: string): Promise<void> {
    const { conn } = this;
    conn.assertOpen();
    const current = Number(await this.currentResourceVersion());
    const upTo =
      resourceVersion === undefined ? current : parseRevision(resourceVersion, 'resourceVersion');
    if (upTo > current)
      throw new BadRequest(`cannot compact to ${upTo}: the current revision is ${current}`);
    if (upTo <= conn.compacted) return;
    try {
      await conn.client.put(conn.keys.compacted()).value(String(upTo));
      await conn.client.kv.compact({ revision: upTo, physical: true });
    } catch (error) {
      if (!/compacted/.test(String(error))) throw unavailable(error);
    }
    conn.compacted = Math.max(conn.compacted, upTo);
  }

  /**
   * Keeps etcd's history bounded (etcd 3.4 keeps every revision until compacted, and stops taking writes at its space
   * quota): every `everyMs`, compacts to `retain` revisions before the current one. One replica (the leader) runs it.
   */
  startPeriodic(
    options: { everyMs?: number; retain?: number; onError?: (error: unknown) => void } = {},
  ): { stop(): void } {
    const retain = options.retain ?? DEFAULT_RETAINED_REVISIONS;
    const timer = setInterval(
      () => {
        void (async () => {
          const target = Number(await this.currentResourceVersion()) - retain;
          if (target > this.conn.compacted) await this.compact(String(target));
        })().catch(options.onError ?? (() => undefined));
      },
      options.everyMs ?? 5 * 60_000,
    );
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
}
