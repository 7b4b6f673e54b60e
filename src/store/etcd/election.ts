// Leader election on an etcd lease: one replica holds the leader key (attached to its lease) and runs the controllers.
import type { Etcd3, IKeyValue, Lease } from 'etcd3';

export interface LeaderElectionOptions {
  client: Etcd3;
  /** The leader key, e.g. `/harrow/_leader/controllers`. */
  key: string;
  /** Written as the key's value: who leads (shown by leader()). */
  identity: string;
  /** Lease TTL: a leader that dies is replaced about this long after its last keepalive. Default 5. */
  ttlSeconds?: number;
  /** Called when this replica becomes leader; leadership is not given up while it runs. */
  onElected: () => Promise<void> | void;
  /** Called when leadership ends (lease lost, key gone, etcd unreachable, resign); awaited before campaigning again. */
  onLost: (reason: string) => Promise<void> | void;
  /**
   * Called each time the campaign finds the key held by another replica and waits for it to go (watching the key from
   * the revision it read, so the holder's delete wakes it): the observable "candidate waiting" state. Default: none.
   */
  onWaiting?: (leader: string) => void;
  /** Failures of the campaign loop (it retries by itself). Default: ignored. */
  onError?: (error: unknown) => void;
}

export interface LeaderElection {
  isLeader(): boolean;
  /** The identity stored in the leader key now, if any. */
  leader(): Promise<string | undefined>;
  /** Stops campaigning; a leader calls onLost, deletes its key and revokes its lease so another takes over at once. */
  resign(): Promise<void>;
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Campaigns until resign(): create the key if absent (Txn on create_revision = 0) with this replica's lease, keep the
 * lease alive, and step down as soon as leadership can no longer be proven — the key changed, or no keepalive succeeded
 * for 2/3 of the TTL (etcd may expire the lease at TTL; stepping down first keeps two leaders from overlapping).
 */
export function startLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const ttl = options.ttlSeconds ?? 5;
  const { client, key } = options;
  const onError = options.onError ?? (() => undefined);
  let leading = false;
  let resigned = false;
  let wake: (() => void) | undefined;
  let endCurrent: ((reason: string) => void) | undefined;
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  /** One term: resolves with why leadership (or the attempt at it) ended. */
  const term = async (lease: Lease, leaseId: string): Promise<void> => {
    let lastKeepalive = Date.now();
    let ended: string | undefined;
    let endTerm: (() => void) | undefined;
    const end = (reason: string): void => {
      ended ??= reason;
      endTerm?.();
      wake?.();
    };
    endCurrent = end;
    lease.on('keepaliveSucceeded', () => (lastKeepalive = Date.now()));
    lease.on('lost', (e: unknown) => end(`lease lost: ${String(e)}`));
    const staleness = setInterval(() => {
      if (Date.now() - lastKeepalive > (ttl * 1000 * 2) / 3)
        end('no lease keepalive for 2/3 of its TTL');
    }, 100);
    try {
      // Campaign: take the key when it is free; otherwise wait for it to go (or re-check every TTL).
      while (!ended && !resigned) {
        const res = await client.kv.txn({
          compare: [
            { key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0 },
          ],
          success: [
            {
              request_put: {
                key: Buffer.from(key),
                value: Buffer.from(options.identity),
                lease: leaseId,
              },
            },
          ],
          failure: [{ request_range: { key: Buffer.from(key) } }],
        });
        if (res.succeeded) break;
        const holder = res.responses[0]?.response_range.kvs[0];
        // Our own key from an earlier term of this lease (a retried Txn): we lead.
        if (holder && holder.lease === leaseId) break;
        const watcher = client
          .watch()
          .key(key)
          .startRevision(String(Number(res.header.revision) + 1))
          .watcher();
        watcher.on('delete', () => wake?.());
        watcher.on('error', () => wake?.());
        const waited = sleep(ttl * 1000);
        // The watch starts after the revision the Txn read, so the holder's delete cannot be missed from here on.
        options.onWaiting?.(holder ? holder.value.toString() : '');
        await waited;
        await watcher.cancel().catch(() => undefined);
      }
      if (ended || resigned) return;
      // Lead until the key is no longer ours or the lease cannot be proven alive.
      const watcher = client.watch().key(key).watcher();
      watcher.on('delete', () => end('leader key deleted'));
      watcher.on('put', (kv: IKeyValue) => {
        if (kv.lease !== leaseId) end('leader key taken by another lease');
      });
      watcher.on('error', () => end('leader key watch ended'));
      leading = true;
      try {
        await options.onElected();
        await new Promise<void>((resolve) => {
          endTerm = resolve;
          if (ended || resigned) resolve();
        });
      } finally {
        leading = false;
        // Stop leading work first: the watch cancel and lease revoke below may wait on an etcd that is gone.
        try {
          await options.onLost(ended ?? 'resigned');
        } finally {
          void watcher.cancel().catch(() => undefined);
        }
      }
    } finally {
      clearInterval(staleness);
      if (resigned) {
        // Hand over at once rather than after the TTL.
        await client.kv
          .txn(
            {
              compare: [
                { key: Buffer.from(key), target: 'Lease', result: 'Equal', lease: leaseId },
              ],
              success: [{ request_delete_range: { key: Buffer.from(key) } }],
              failure: [],
            },
            { deadline: Date.now() + 2000 },
          )
          .catch(onError);
      }
      await lease.revoke({ deadline: Date.now() + 2000 }).catch(() => undefined);
    }
  };

  const loop = (async () => {
    while (!resigned) {
      const lease = client.lease(ttl, { autoKeepAlive: true });
      try {
        const leaseId = await lease.grant();
        await term(lease, leaseId);
      } catch (error) {
        onError(error);
        await lease.revoke({ deadline: Date.now() + 2000 }).catch(() => undefined);
        if (!resigned) await delay(500);
      }
    }
  })();

  return {
    isLeader: () => leading,
    leader: async () => {
      const value = await client.get(key).string();
      return value ?? undefined;
    },
    resign: async () => {
      resigned = true;
      endCurrent?.('resigned');
      wake?.();
      await loop;
    },
  };
}
