// Group commit for synchronous=FULL: one fdatasync of the WAL, run off the event loop, makes every commit before it durable.
import { closeSync, fdatasync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/** Flushes a file's written data to the disk; fs.fdatasync by default, replaceable in tests. */
export type SyncFile = (fd: number) => Promise<void>;

const fdatasyncAsync: SyncFile = (fd) =>
  new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));

interface Waiter {
  /** Durable once this many commits have been synced. */
  upTo: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * SQLite in WAL mode with synchronous=FULL fsyncs the WAL inside every COMMIT, blocking the event loop for the disk's
 * latency once per transaction. Here the connection runs synchronous=NORMAL (its COMMIT only writes the WAL; SQLite
 * still syncs the WAL before each checkpoint and the database after it) and this class fsyncs the WAL file in the
 * thread pool: commits made while one sync runs share the next one. A commit counts as durable once a sync that
 * started after it has finished — what FULL guarantees, without the per-transaction stall.
 */
export class WalSync {
  private committed = 0;
  private synced = 0;
  private running: Promise<void> | undefined;
  private readonly waiters: Waiter[] = [];

  private constructor(
    private readonly fd: number,
    private readonly sync: SyncFile,
  ) {}

  /** Opens the WAL file of the database at `path` (it must exist: the connection is in WAL mode) and syncs its folder once. */
  static open(path: string, sync: SyncFile = fdatasyncAsync): WalSync {
    // The WAL's directory entry must itself be durable, or a power loss could drop the whole file.
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    return new WalSync(openSync(`${path}-wal`, 'r'), sync);
  }

  /** Records that a transaction committed; the promise resolves once it is on disk (rejects if the sync fails). */
  committedNow(): Promise<void> {
    this.committed += 1;
    return this.durable();
  }

  /** Resolves once every commit recorded so far is on disk. */
  durable(): Promise<void> {
    if (this.synced >= this.committed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ upTo: this.committed, resolve, reject });
      if (!this.running) this.running = this.run();
    });
  }

  /** Waits for the syncs under way, then closes the file. */
  async close(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
    closeSync(this.fd);
  }

  private async run(): Promise<void> {
    try {
      while (this.synced < this.committed) {
        const upTo = this.committed;
        try {
          await this.sync(this.fd);
        } catch (error) {
          // Whether the data reached the disk is unknown: every write waiting on it fails, as a failed COMMIT would.
          this.synced = upTo;
          for (const w of this.waiters.splice(0, this.coveredBy(upTo))) w.reject(error);
          continue;
        }
        this.synced = upTo;
        for (const w of this.waiters.splice(0, this.coveredBy(upTo))) w.resolve();
      }
    } finally {
      this.running = undefined;
    }
  }

  /** How many waiters (they queue in commit order) a sync of the first `upTo` commits settles. */
  private coveredBy(upTo: number): number {
    let n = 0;
    while (n < this.waiters.length && this.waiters[n]!.upTo <= upTo) n++;
    return n;
  }
}
