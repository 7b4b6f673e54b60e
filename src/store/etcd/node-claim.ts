// A node name held by one live process: an etcd key attached to that process's lease, so a second process with the
// same --node-name refuses to start instead of running every guest of that node a second time.
import { hostname } from 'node:os';
import type { Etcd3, Lease } from 'etcd3';

export interface NodeClaimOptions {
  client: Etcd3;
  /** e.g. `/harrow/_nodes/host-a` */
  key: string;
  nodeName: string;
  /** Lease TTL: a holder that dies without releasing frees the name this long after its last keepalive. Default 10. */
  ttlSeconds?: number;
  /** The lease expired (etcd unreachable for longer than the TTL): another process may take the name now. */
  onLost?: (reason: string) => void;
}

export interface NodeClaim {
  /** Deletes the key and revokes the lease, so the name is free at once. */
  release(): Promise<void>;
}

interface Holder {
  host: string;
  pid: number;
  since: string;
}

/** Thrown when another live process holds the node name; the message says who and what to do. */
export class NodeNameTaken extends Error {}

const isHolder = (v: unknown): v is Holder =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Holder).host === 'string' &&
  typeof (v as Holder).pid === 'number';

function parseHolder(text: string): Holder | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return isHolder(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live process on this host (EPERM: alive, someone else's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the node name (Txn: create the key only if absent, attached to a fresh lease kept alive by this process) or
 * throws NodeNameTaken naming the holder. A key left by a process of this host that is gone (killed before its lease
 * expired) is taken over at once rather than after the TTL.
 */
export async function claimNodeName(options: NodeClaimOptions): Promise<NodeClaim> {
  const { client, key } = options;
  const ttl = options.ttlSeconds ?? 10;
  const me: Holder = { host: hostname(), pid: process.pid, since: new Date().toISOString() };
  const lease: Lease = client.lease(ttl, { autoKeepAlive: true });
  const leaseId = await lease.grant();
  let released = false;
  const giveUp = async (): Promise<void> => {
    released = true;
    await lease.revoke({ deadline: Date.now() + 2000 }).catch(() => undefined);
  };
  try {
    for (let attempt = 0; ; attempt++) {
      const res = await client.kv.txn({
        compare: [{ key: Buffer.from(key), target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [
          {
            request_put: {
              key: Buffer.from(key),
              value: Buffer.from(JSON.stringify(me)),
              lease: leaseId,
            },
          },
        ],
        failure: [{ request_range: { key: Buffer.from(key) } }],
      });
      if (res.succeeded) break;
      const kv = res.responses[0]?.response_range.kvs[0];
      if (!kv) continue; // released between the compare and the read: try again
      const holder = parseHolder(kv.value.toString('utf8'));
      const stale = holder && holder.host === me.host && !processAlive(holder.pid);
      if (stale && attempt < 3) {
        // Delete exactly the key we read (its mod_revision), then take it as if it were absent.
        await client.kv.txn({
          compare: [
            {
              key: Buffer.from(key),
              target: 'Mod',
              result: 'Equal',
              mod_revision: kv.mod_revision,
            },
          ],
          success: [{ request_delete_range: { key: Buffer.from(key) } }],
          failure: [],
        });
        continue;
      }
      const who = holder
        ? `process ${holder.pid} on host ${holder.host} (since ${holder.since})`
        : 'another process';
      throw new NodeNameTaken(
        `node name ${JSON.stringify(options.nodeName)} is held by ${who}: two processes with one node name would both ` +
          `start every guest scheduled to it. Stop that process, or give this one another --node-name ` +
          `(a holder that died frees the name within ${ttl} s; etcd key ${key})`,
      );
    }
  } catch (e) {
    await giveUp();
    throw e;
  }
  lease.on('lost', (e: unknown) => {
    if (!released) options.onLost?.(`node name lease lost: ${String(e)}`);
  });
  return {
    async release() {
      if (released) return;
      released = true;
      await client.kv
        .txn(
          {
            compare: [{ key: Buffer.from(key), target: 'Lease', result: 'Equal', lease: leaseId }],
            success: [{ request_delete_range: { key: Buffer.from(key) } }],
            failure: [],
          },
          { deadline: Date.now() + 2000 },
        )
        .catch(() => undefined);
      await lease.revoke({ deadline: Date.now() + 2000 }).catch(() => undefined);
    },
  };
}
