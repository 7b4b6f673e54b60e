// The etcd store's gets, coalesced: while one read Txn is in flight the gets that arrive queue up, and the next Txn reads
// all their keys at once. Each gRPC call costs the process far more than the key it reads (an API create made six gets),
// so under load this saves most of the calls; alone, a get still goes out at once.
import type { IKeyValue } from 'etcd3';
import { Coalescer } from './coalesce.ts';
import { utf8, type EtcdConnection } from './connection.ts';

/** At most this many keys in one Txn (etcd's default --max-txn-ops is 128). */
const MAX_KEYS = 128;

export class ReadBatch {
  private readonly reads: Coalescer<string, IKeyValue | undefined>;

  constructor(conn: EtcdConnection) {
    this.reads = new Coalescer(
      async (keys) => {
        const res = await conn.txn({
          compare: [],
          success: keys.map((key) => ({ request_range: { key: utf8(key) } })),
          failure: [],
        });
        return keys.map((_, i) => ({ value: res.responses[i]?.response_range.kvs[0] }));
      },
      (batch) => batch.length < MAX_KEYS,
    );
  }

  /** The key's current value (a linearizable read, made after this call), or undefined when it does not exist. */
  get(key: string): Promise<IKeyValue | undefined> {
    return this.reads.submit(key);
  }
}
