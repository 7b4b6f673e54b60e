// The etcd store's writes: every commit is one compare-and-swap Txn over the keys it touches (read, or recalled from
// what this process last saw, then simulated by batch.ts), retried while another write gets in between. The commits that
// queue behind a Txn in flight share the next one (coalesce.ts): one gRPC call and one fsync for them all, and for
// audited commits one move of their chain's head.
import { randomUUID } from 'node:crypto';
import type { ICompare, IRequestOp } from 'etcd3';
import { auditChainHead } from '../../audit/chain.ts';
import { HarrowError } from '../../resources/errors.ts';
import type { KubeObject } from '../../resources/meta.ts';
import { kindOf, kubeTimestamp, metadataOf, namespaceKey } from '../object-meta.ts';
import type { WriteOp } from '../types.ts';
import {
  createdText,
  RETRY,
  simulateGroup,
  targetOf,
  withRv,
  type BatchRecordEntry,
  type CommitRequest,
  type Slot,
  type Target,
} from './batch.ts';
import { utf8, type EtcdConnection } from './connection.ts';
import { Coalescer, type Settled } from './coalesce.ts';

const MAX_CAS_ATTEMPTS = 64;

const emptySlot = (key: string, kind: string, namespace: string, name: string): Slot => ({
  key,
  kind,
  namespace,
  name,
  original: undefined,
  current: undefined,
  touched: false,
  writes: 0,
});

/**
 * etcd refuses a Txn of more than 128 operations (--max-txn-ops) by default; a group stays below it with room for the
 * chain head and the kinds' batch records. A single commit larger than this goes alone, as it always did.
 */
const MAX_GROUP_OPS = 100;
/** etcd's default --max-request-bytes is 1.5 MiB: a group whose Txn would come near it is committed in halves. */
const MAX_GROUP_BYTES = 1024 * 1024;

/** What one request of a group came to: its written objects, or its own error (never another request's). */
type CommitOutcome = Settled<KubeObject[]>;

/** The group's Txn would exceed etcd's request size. */
const GROUP_TOO_LARGE = Symbol('group too large');

/** What a Txn of a group carried, kept until the next round: if etcd applied it after all, the round answers this. */
interface Sent {
  /** A created key and the uid it was created with: found there, the Txn committed. */
  probe: { key: string; uid: string };
  texts: Array<string[] | undefined>;
  failed: Map<number, unknown>;
}

type Round = { outcomes: CommitOutcome[] } | { retry: true; sent?: Sent } | { tooLarge: true };

export class EtcdTransactions {
  /**
   * This process's commits, grouped: audited ones all move the chain head, so they share a Txn instead of racing for it,
   * and every gRPC call saved is CPU the apiserver and the controllers get back.
   */
  private readonly grouped = new Coalescer<CommitRequest, KubeObject[]>(
    (requests) => this.commitGroup(requests),
    (group, next) =>
      group.reduce((ops, r) => ops + r.ops.length, 0) + next.ops.length <= MAX_GROUP_OPS,
  );

  /** Txns whose compare failed: another writer got in between (the round was read again and retried). */
  lostRaces = 0;

  /** `auditChain`: the name of this store's own audit chain, whose head no other store moves. */
  constructor(
    private readonly conn: EtcdConnection,
    private readonly auditChain: string,
  ) {}

  async commit(ops: WriteOp[]): Promise<KubeObject[]> {
    this.conn.assertOpen();
    if (ops.length === 0) return [];
    // uid and creationTimestamp are fixed once per call: a Txn the client retried after an ambiguous failure then
    // wrote exactly what this call wanted, and the uid tells it apart from somebody else's object.
    const request: CommitRequest = {
      ops,
      uids: ops.map(() => randomUUID()),
      now: kubeTimestamp(new Date()),
      nameAttempts: 0,
    };
    const audited = ops.some((op) => op.type === 'create' && op.object.kind === 'AuditRecord');
    // Creates of named objects alone need no read and no head: one Txn of their own, several in flight at once.
    if (
      !audited &&
      ops.every((op) => op.type === 'create' && (metadataOf(op.object).name ?? '') !== '')
    ) {
      const done = await this.createAll(
        ops as { type: 'create'; object: KubeObject }[],
        request.uids,
        request.now,
      );
      if (done) return done;
    }
    return this.grouped.submit(request);
  }

  /** One Txn for the group, or (when that would pass etcd's request size) one for each half, in order. */
  private async commitGroup(requests: CommitRequest[]): Promise<CommitOutcome[]> {
    const outcomes = await this.commitRounds(requests);
    if (outcomes !== GROUP_TOO_LARGE) return outcomes;
    const half = Math.ceil(requests.length / 2);
    return [
      ...(await this.commitGroup(requests.slice(0, half))),
      ...(await this.commitGroup(requests.slice(half))),
    ];
  }

  /**
   * Read (or recall), apply, compare-and-swap; again while another write got in between. Several requests share each
   * round's Txn, applied in order; one that fails is left out of it and gets its own error.
   */
  private async commitRounds(
    requests: CommitRequest[],
  ): Promise<CommitOutcome[] | typeof GROUP_TOO_LARGE> {
    let sent: Sent | undefined;
    for (let attempt = 0; ; attempt++) {
      // The first round may take what it last saw of each key from memory; a stale picture only costs a retry.
      const round = await this.attempt(requests, attempt === 0, sent);
      if ('outcomes' in round) return round.outcomes;
      if ('tooLarge' in round) return GROUP_TOO_LARGE;
      sent = round.sent;
      if (attempt >= MAX_CAS_ATTEMPTS) {
        throw new HarrowError(
          'ServiceUnavailable',
          503,
          `etcd: the batch kept losing races after ${attempt + 1} attempts`,
        );
      }
    }
  }

  /** All creates of named objects: one Txn, no read. undefined when some key exists (the general path then explains). */
  private async createAll(
    ops: { type: 'create'; object: KubeObject }[],
    uids: string[],
    now: string,
  ): Promise<KubeObject[] | undefined> {
    const { conn } = this;
    const keys = new Set<string>();
    const texts: string[] = [];
    const puts: IRequestOp[] = [];
    const compare: ICompare[] = [];
    for (const [i, op] of ops.entries()) {
      const kind = kindOf(op.object);
      const meta = metadataOf(op.object);
      const namespace = namespaceKey(meta.namespace);
      const key = conn.keys.object(kind, namespace, meta.name);
      if (keys.has(key)) return undefined;
      keys.add(key);
      const text = createdText(op.object, meta.name, namespace, uids[i] as string, now);
      texts.push(text);
      compare.push({
        key: utf8(key),
        target: 'Mod' as const,
        result: 'Equal' as const,
        mod_revision: 0,
      });
      puts.push({ request_put: { key: utf8(key), value: utf8(text) } });
    }
    const res = await conn.txn({ compare, success: puts, failure: [] });
    if (!res.succeeded) return undefined;
    [...keys].forEach((key, i) => conn.remember(key, texts[i], Number(res.header.revision)));
    return texts.map((t) => JSON.parse(withRv(t, res.header.revision)) as KubeObject);
  }

  /**
   * One read–simulate–CAS round over the requests; retry when another write got in between, or a generated name was
   * taken. Each failure is decided on what etcd holds (never on what this process recalled), and stands only with the
   * Txn that commits the others: the Txn compares the keys that failure was read from too.
   */
  private async attempt(
    requests: CommitRequest[],
    fromMemory: boolean,
    previous: Sent | undefined,
  ): Promise<Round> {
    const { conn } = this;
    const failed = new Map<number, unknown>();
    const planned = requests.map((r, i) => {
      try {
        return r.ops.map((op) => targetOf(op, conn.keys));
      } catch (error) {
        if (!(error instanceof HarrowError)) throw error;
        failed.set(i, error);
        return [];
      }
    });
    const slots = new Map<string, Slot>();
    for (const t of planned.flat()) {
      if (!slots.has(t.key)) slots.set(t.key, emptySlot(t.key, t.kind, t.namespace, t.name));
    }
    // AuditRecords are chained: the head of this store's chain moves in the same Txn as the record.
    const chainHead = auditChainHead(this.auditChain);
    const headKey = conn.keys.object(chainHead.kind, '', chainHead.name);
    if (planned.some((ts) => ts.some((t) => t.kind === 'AuditRecord')) && !slots.has(headKey)) {
      slots.set(headKey, emptySlot(headKey, chainHead.kind, '', chainHead.name));
    }
    const head = slots.get(headKey);
    // A key this process has not seen is guessed absent: the compare checks every guess.
    const guessed = fromMemory;
    if (guessed) {
      for (const slot of slots.values()) {
        slot.original = conn.basis.get(slot.key);
        slot.current = slot.original?.text;
      }
    } else {
      const read = await conn.txn({
        compare: [],
        success: [...slots.keys()].map((key) => ({ request_range: { key: utf8(key) } })),
        failure: [],
      });
      [...slots.values()].forEach((slot, i) => {
        const kv = read.responses[i]?.response_range.kvs[0];
        if (kv) {
          slot.original = { text: kv.value.toString('utf8'), mod: Number(kv.mod_revision) };
          slot.current = slot.original.text;
        }
      });
    }
    // A key created with our own uid: the previous round's Txn, which etcd reported lost, did commit.
    const probed = previous && slots.get(previous.probe.key);
    if (
      previous &&
      probed?.original &&
      (JSON.parse(probed.original.text) as KubeObject).metadata.uid === previous.probe.uid
    ) {
      return {
        outcomes: outcomesOf(requests.length, previous.texts, previous.failed, probed.original.mod),
      };
    }
    const group = simulateGroup(
      requests,
      planned,
      slots,
      head && { slot: head, chain: this.auditChain },
      failed,
      guessed,
    );
    if (group === RETRY) return { retry: true };
    const { texts, changes } = group;
    if (failed.size === requests.length)
      return { outcomes: outcomesOf(requests.length, texts, failed, 0) };
    const success: IRequestOp[] = [];
    const compare: ICompare[] = [];
    let bytes = 0;
    const written: Slot[] = [];
    for (const slot of slots.values()) {
      compare.push({
        key: utf8(slot.key),
        target: 'Mod' as const,
        result: 'Equal' as const,
        mod_revision: slot.original?.mod ?? 0,
      });
      // Keys only a failed request touched are compared (its verdict stands on them) but not written.
      if (!slot.touched && slot.current === slot.original?.text) continue;
      written.push(slot);
      if (slot.current !== undefined) {
        success.push({ request_put: { key: utf8(slot.key), value: utf8(slot.current) } });
        bytes += slot.current.length;
      } else if (slot.original) success.push({ request_delete_range: { key: utf8(slot.key) } });
    }
    const repeated = new Set([...slots.values()].filter((s) => s.writes > 1).map((s) => s.kind));
    for (const kind of repeated) {
      const record: BatchRecordEntry[] = changes
        .filter((c) => c.kind === kind)
        .map((c) => ({ t: c.type, n: c.namespace, j: c.text }));
      const value = JSON.stringify(record);
      bytes += value.length;
      success.push({ request_put: { key: utf8(conn.keys.batch(kind)), value: utf8(value) } });
    }
    if (bytes > MAX_GROUP_BYTES && requests.length - failed.size > 1) return { tooLarge: true };
    const res = await conn.txn({ compare, success, failure: [] });
    if (!res.succeeded) {
      this.lostRaces++;
      for (const key of slots.keys()) conn.basis.delete(key);
      const probe = createdProbe(requests, planned, failed);
      return { retry: true, ...(probe ? { sent: { probe, texts, failed } } : {}) };
    }
    const revision = Number(res.header.revision);
    for (const slot of written) conn.remember(slot.key, slot.current, revision);
    return { outcomes: outcomesOf(requests.length, texts, failed, revision) };
  }
}

/** Each request's written objects at `revision`, or its error. */
function outcomesOf(
  count: number,
  texts: Array<string[] | undefined>,
  failed: Map<number, unknown>,
  revision: number,
): CommitOutcome[] {
  return Array.from({ length: count }, (_, i) =>
    failed.has(i)
      ? { error: failed.get(i) }
      : {
          value: (texts[i] as string[]).map(
            (text) => JSON.parse(withRv(text, revision)) as KubeObject,
          ),
        },
  );
}

/** A key the Txn creates under a name chosen by its caller (a generated one is chosen anew each round), with its uid. */
function createdProbe(
  requests: CommitRequest[],
  planned: Target[][],
  failed: Map<number, unknown>,
): Sent['probe'] | undefined {
  for (const [i, request] of requests.entries()) {
    if (failed.has(i)) continue;
    const at = request.ops.findIndex(
      (op, j) => op.type === 'create' && !planned[i]?.[j]?.generated,
    );
    if (at >= 0) return { key: (planned[i] as Target[])[at]!.key, uid: request.uids[at] as string };
  }
  return undefined;
}
