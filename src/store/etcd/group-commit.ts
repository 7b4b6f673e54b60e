// Group commit of the etcd store's audited writes: while one Txn is in flight the commits that arrive queue up, and the
// next Txn carries them all (their AuditRecords chained one after the other, the chain head moved once). etcd then
// pays one round trip and one fsync for the group instead of one per commit.
import type { KubeObject } from '../../resources/meta.ts';
import type { WriteOp } from '../types.ts';

/** One caller's commit: its ops, the uids and time fixed for it once, and how often its generated names were taken. */
export interface CommitRequest {
  ops: WriteOp[];
  uids: string[];
  now: string;
  nameAttempts: number;
}

/** What one request of a group came to: its written objects, or its own error (never another request's). */
export type CommitOutcome = { written: KubeObject[] } | { error: unknown };

/** The group's Txn would exceed etcd's request size: the runner commits it in halves. */
export const GROUP_TOO_LARGE = Symbol('group too large');

/**
 * etcd refuses a Txn of more than 128 operations (--max-txn-ops) by default; a group stays below it with room for the
 * chain head and the kinds' batch records. A single commit larger than this goes alone, as it always did.
 */
export const MAX_GROUP_OPS = 100;

interface Waiting {
  request: CommitRequest;
  resolve: (written: KubeObject[]) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  private readonly queue: Waiting[] = [];
  private draining = false;
  /** How many requests the next group may take: halved after a group too large for one Txn. */
  private limit = Infinity;

  /** `run` commits a group as one Txn and returns each request's outcome; it throws only what concerns the whole group. */
  constructor(
    private readonly run: (
      requests: CommitRequest[],
    ) => Promise<CommitOutcome[] | typeof GROUP_TOO_LARGE>,
  ) {}

  submit(request: CommitRequest): Promise<KubeObject[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        void this.drain();
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.take();
      let outcomes: CommitOutcome[] | typeof GROUP_TOO_LARGE;
      try {
        outcomes = await this.run(group.map((w) => w.request));
      } catch (error) {
        // etcd's own failure (unavailable, lost every race): the same answer for every commit of the group.
        for (const w of group) w.reject(error);
        continue;
      }
      if (outcomes === GROUP_TOO_LARGE) {
        // Only a group of several is ever too large (one request alone is sent whatever its size): it goes back to the
        // front of the queue, in order, and the next group takes half of it.
        this.queue.unshift(...group);
        this.limit = Math.ceil(group.length / 2);
        continue;
      }
      this.limit = Infinity;
      group.forEach((w, i) => {
        const outcome = outcomes[i] as CommitOutcome;
        if ('error' in outcome) w.reject(outcome.error);
        else w.resolve(outcome.written);
      });
    }
    this.draining = false;
  }

  /** The oldest waiting commits, as many as fit MAX_GROUP_OPS and the limit (at least one). */
  private take(): Waiting[] {
    let ops = 0;
    let n = 0;
    for (const w of this.queue) {
      if (n > 0 && (n >= this.limit || ops + w.request.ops.length > MAX_GROUP_OPS)) break;
      ops += w.request.ops.length;
      n++;
    }
    return this.queue.splice(0, n);
  }
}
