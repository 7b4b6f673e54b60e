// The etcd store's writes: every commit is one compare-and-swap Txn over the keys it touches (read, or recalled from
// what this process last saw, then simulated by batch.ts), retried while another write gets in between.
import { randomUUID } from 'node:crypto';
import type { ICompare, IRequestOp } from 'etcd3';
import { AUDIT_CHAIN_HEAD } from '../../audit/chain.ts';
import { HarrowError } from '../../resources/errors.ts';
import type { KubeObject } from '../../resources/meta.ts';
import {
  GENERATE_NAME_ATTEMPTS,
  kindOf,
  kubeTimestamp,
  metadataOf,
  namespaceKey,
  refFor,
} from '../object-meta.ts';
import { alreadyExists } from '../status-errors.ts';
import type { WriteOp } from '../types.ts';
import {
  createdText,
  RetryName,
  simulateBatch,
  targetOf,
  withRv,
  type BatchRecordEntry,
  type LogicalChange,
  type Slot,
  type Stored,
} from './batch.ts';
import { utf8, type EtcdConnection } from './connection.ts';

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

export class EtcdTransactions {
  /** Audited commits of this process, one after the other. */
  private auditTurn: Promise<void> = Promise.resolve();

  constructor(private readonly conn: EtcdConnection) {}

  async commit(ops: WriteOp[]): Promise<KubeObject[]> {
    this.conn.assertOpen();
    if (ops.length === 0) return [];
    // uid and creationTimestamp are fixed once per call: a Txn the client retried after an ambiguous failure then
    // wrote exactly what this call wanted, and the uid tells it apart from somebody else's object.
    const uids = ops.map(() => randomUUID());
    const now = kubeTimestamp(new Date());
    const audited = ops.some((op) => op.type === 'create' && op.object.kind === 'AuditRecord');
    if (audited) {
      // Every audited commit moves the one chain head: taking them in turn here saves the Txns that would lose the race.
      const turn = this.auditTurn.then(() => this.commitRounds(ops, uids, now));
      this.auditTurn = turn.then(
        () => undefined,
        () => undefined,
      );
      return turn;
    }
    if (ops.every((op) => op.type === 'create' && (metadataOf(op.object).name ?? '') !== '')) {
      const done = await this.createAll(ops as { type: 'create'; object: KubeObject }[], uids, now);
      if (done) return done;
    }
    return this.commitRounds(ops, uids, now);
  }

  /** Read (or recall), apply, compare-and-swap; again while another write got in between. */
  private async commitRounds(ops: WriteOp[], uids: string[], now: string): Promise<KubeObject[]> {
    let nameAttempts = 0;
    for (let attempt = 0; ; attempt++) {
      let result: KubeObject[] | undefined;
      try {
        // The first round may take what it last saw of each key from memory; a stale picture only costs a retry.
        result = await this.attempt(ops, uids, now, attempt === 0);
      } catch (error) {
        if (!(error instanceof RetryName)) throw error;
        if (++nameAttempts >= GENERATE_NAME_ATTEMPTS)
          throw alreadyExists(refFor(error.kind, error.namespace, `${error.prefix}*`));
      }
      if (result) return result;
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

  /** One read–simulate–CAS round; undefined when another write got in between (the caller retries). */
  private async attempt(
    ops: WriteOp[],
    uids: string[],
    now: string,
    fromMemory: boolean,
  ): Promise<KubeObject[] | undefined> {
    const { conn } = this;
    const planned = ops.map((op) => targetOf(op, conn.keys));
    const slots = new Map<string, Slot>();
    for (const t of planned) {
      if (!slots.has(t.key)) slots.set(t.key, emptySlot(t.key, t.kind, t.namespace, t.name));
    }
    // AuditRecords are chained: the head moves in the same Txn as the record.
    const headKey = conn.keys.object(AUDIT_CHAIN_HEAD.kind, '', AUDIT_CHAIN_HEAD.name);
    if (planned.some((t) => t.kind === 'AuditRecord') && !slots.has(headKey)) {
      slots.set(headKey, emptySlot(headKey, AUDIT_CHAIN_HEAD.kind, '', AUDIT_CHAIN_HEAD.name));
    }
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
    // A single create whose key holds our own uid: an earlier, ambiguous Txn of this very call did commit.
    const only = ops[0];
    if (ops.length === 1 && only?.type === 'create') {
      const slot = slots.get((planned[0] as { key: string }).key) as Slot;
      if (
        slot.current !== undefined &&
        (JSON.parse(slot.current) as KubeObject).metadata.uid === uids[0]
      ) {
        return [JSON.parse(withRv(slot.current, (slot.original as Stored).mod)) as KubeObject];
      }
    }
    const outputs: string[] = [];
    const changes: LogicalChange[] = [];
    try {
      simulateBatch(ops, planned, slots, uids, now, outputs, changes, slots.get(headKey));
    } catch (error) {
      // A verdict needs what etcd holds now, not what this process remembered.
      if (guessed && error instanceof HarrowError) return undefined;
      throw error;
    }
    const success: IRequestOp[] = [];
    const compare: ICompare[] = [];
    for (const slot of slots.values()) {
      compare.push({
        key: utf8(slot.key),
        target: 'Mod' as const,
        result: 'Equal' as const,
        mod_revision: slot.original?.mod ?? 0,
      });
      if (slot.current !== undefined)
        success.push({ request_put: { key: utf8(slot.key), value: utf8(slot.current) } });
      else if (slot.original) success.push({ request_delete_range: { key: utf8(slot.key) } });
    }
    const repeated = new Set([...slots.values()].filter((s) => s.writes > 1).map((s) => s.kind));
    for (const kind of repeated) {
      const record: BatchRecordEntry[] = changes
        .filter((c) => c.kind === kind)
        .map((c) => ({ t: c.type, n: c.namespace, j: c.text }));
      success.push({
        request_put: { key: utf8(conn.keys.batch(kind)), value: utf8(JSON.stringify(record)) },
      });
    }
    const res = await conn.txn({ compare, success, failure: [] });
    if (!res.succeeded) {
      for (const key of slots.keys()) conn.basis.delete(key);
      return undefined;
    }
    for (const slot of slots.values())
      conn.remember(slot.key, slot.current, Number(res.header.revision));
    return outputs.map((text) => JSON.parse(withRv(text, res.header.revision)) as KubeObject);
  }
}
