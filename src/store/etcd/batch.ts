// The pure half of the etcd store's write path: where each op of a batch lands, and what the batch does to the keys it
// touches (created/updated/deleted texts, conflicts, the audit chain sealed in the same commit) before one Txn writes it.
import { chainHeadObject, sealAuditRecord, type AuditChainHeadObject } from '../../audit/chain.ts';
import { HarrowError, Invalid, fieldRequired } from '../../resources/errors.ts';
import type { KubeObject } from '../../resources/meta.ts';
import {
  GENERATE_NAME_ATTEMPTS,
  generateNamePrefix,
  kindOf,
  metadataOf,
  namespaceKey,
  randomName,
  refFor,
  updatedObject,
  withMetadata,
} from '../object-meta.ts';
import {
  alreadyExists,
  modifiedConflict,
  notFound,
  preconditionConflict,
} from '../status-errors.ts';
import type { WatchEventType, WriteOp } from '../types.ts';
import type { EtcdKeys } from './keys.ts';

/** A stored value holds this placeholder; reads put the key's mod_revision in it without parsing the object. */
export const RV_PLACEHOLDER = '"resourceVersion":""';

export function withRv(text: string, revision: number | string): string {
  const at = text.indexOf(RV_PLACEHOLDER);
  if (at < 0) return text;
  return `${text.slice(0, at)}"resourceVersion":"${revision}"${text.slice(at + RV_PLACEHOLDER.length)}`;
}

export interface Stored {
  /** Stored text (with the resourceVersion placeholder). */
  text: string;
  mod: number;
}

/** One key a batch touches: what the read saw and what the batch leaves there. */
export interface Slot {
  key: string;
  kind: string;
  namespace: string;
  name: string;
  original: Stored | undefined;
  current: string | undefined;
  /** Written earlier in this batch: its resourceVersion is the batch's own, unknown to any caller. */
  touched: boolean;
  writes: number;
}

export interface LogicalChange {
  type: WatchEventType;
  kind: string;
  namespace: string;
  text: string;
}

/** The key of the audit chain's head that a batch's AuditRecords are sealed onto, and the chain's name. */
export interface ChainSlot {
  slot: Slot;
  chain: string;
}

/** The kind's batch record: the changes, in order, of a revision that wrote one key twice (a Txn can put it once). */
export interface BatchRecordEntry {
  t: WatchEventType;
  n: string;
  j: string;
}

export interface Target {
  key: string;
  kind: string;
  namespace: string;
  name: string;
  generated: boolean;
}

/** A generated name was taken: the call tries another. */
export class RetryName extends Error {
  constructor(
    readonly kind: string,
    readonly namespace: string,
    readonly prefix: string,
  ) {
    super('generated name taken');
  }
}

/** Applies the batch, in order, to the slots' states: what each op writes, and the changes watchers will see. */
export function simulateBatch(
  ops: WriteOp[],
  planned: Target[],
  slots: Map<string, Slot>,
  uids: string[],
  now: string,
  outputs: string[],
  changes: LogicalChange[],
  head: ChainSlot | undefined,
): void {
  ops.forEach((op, i) => {
    const t = planned[i] as Target;
    const slot = slots.get(t.key) as Slot;
    const storedRv = slot.touched
      ? undefined
      : slot.original
        ? String(slot.original.mod)
        : undefined;
    if (op.type === 'create') {
      if (slot.current !== undefined) {
        if (t.generated) throw new RetryName(t.kind, t.namespace, t.name.slice(0, -5));
        throw alreadyExists(refFor(t.kind, t.namespace, t.name));
      }
      let object = op.object;
      if (t.kind === 'AuditRecord' && head) {
        // As the SQLite store does: seal the record onto the chain and move the head, in the same commit.
        const { slot: headSlot, chain } = head;
        const previous =
          headSlot.current === undefined
            ? undefined
            : (JSON.parse(headSlot.current) as AuditChainHeadObject).spec;
        const sealed = sealAuditRecord(
          { ...object, metadata: { ...object.metadata, name: t.name } },
          previous,
          chain,
        );
        object = sealed.record;
        headSlot.current = JSON.stringify(chainHeadObject(sealed.head, sealed.record, chain));
      }
      slot.current = createdText(object, t.name, t.namespace, uids[i] as string, now);
      changes.push({ type: 'ADDED', kind: t.kind, namespace: t.namespace, text: slot.current });
    } else if (op.type === 'update') {
      const ref = refFor(t.kind, t.namespace, t.name);
      if (slot.current === undefined) throw notFound(ref);
      const wanted = metadataOf(op.object).resourceVersion;
      if (wanted !== undefined && wanted !== '' && wanted !== storedRv) throw modifiedConflict(ref);
      slot.current = JSON.stringify(
        updatedObject(op.object, JSON.parse(slot.current) as KubeObject, t.name, t.namespace, ''),
      );
      changes.push({
        type: 'MODIFIED',
        kind: t.kind,
        namespace: t.namespace,
        text: slot.current,
      });
    } else {
      const ref = refFor(t.kind, t.namespace, t.name);
      if (slot.current === undefined) throw notFound(ref);
      if (
        op.resourceVersion !== undefined &&
        op.resourceVersion !== '' &&
        op.resourceVersion !== storedRv
      ) {
        throw preconditionConflict(ref, op.resourceVersion, storedRv ?? '(this batch)');
      }
      changes.push({ type: 'DELETED', kind: t.kind, namespace: t.namespace, text: slot.current });
      slot.current = undefined;
    }
    slot.touched = true;
    slot.writes += 1;
    outputs.push(changes[changes.length - 1]?.text as string);
  });
}

/** One caller's commit: its ops, the uids and time fixed for it once, and how often its generated names were taken. */
export interface CommitRequest {
  ops: WriteOp[];
  uids: string[];
  now: string;
  nameAttempts: number;
}

/** simulateGroup's answer when the round must start again: a generated name was taken, or a recalled state refused. */
export const RETRY = Symbol('retry');

/**
 * Applies several callers' batches, in order, to the slots: each sees what the ones before it left. A batch that fails
 * is left out (the keys it touched go back to what the batches before it left there) and its error lands in `failed`,
 * unless the slots were only recalled (`guessed`): a verdict needs what etcd holds now, so the round is read again.
 */
export function simulateGroup(
  requests: CommitRequest[],
  planned: Target[][],
  slots: Map<string, Slot>,
  head: ChainSlot | undefined,
  failed: Map<number, unknown>,
  guessed: boolean,
): { texts: Array<string[] | undefined>; changes: LogicalChange[] } | typeof RETRY {
  const texts: Array<string[] | undefined> = [];
  const changes: LogicalChange[] = [];
  let renamed = false;
  for (const [i, request] of requests.entries()) {
    if (failed.has(i)) continue;
    const targets = planned[i] as Target[];
    const touched = new Set(targets.map((t) => slots.get(t.key) as Slot));
    if (head) touched.add(head.slot);
    const before = [...touched].map((slot) => ({ slot, state: { ...slot } }));
    const changed = changes.length;
    const outputs: string[] = [];
    try {
      simulateBatch(request.ops, targets, slots, request.uids, request.now, outputs, changes, head);
      texts[i] = outputs;
    } catch (error) {
      for (const { slot, state } of before) Object.assign(slot, state);
      changes.length = changed;
      if (error instanceof RetryName) {
        if (++request.nameAttempts < GENERATE_NAME_ATTEMPTS) renamed = true;
        else failed.set(i, alreadyExists(refFor(error.kind, error.namespace, `${error.prefix}*`)));
      } else if (error instanceof HarrowError) {
        if (guessed) return RETRY;
        failed.set(i, error);
      } else throw error;
    }
  }
  return renamed ? RETRY : { texts, changes };
}

export function targetOf(op: WriteOp, keys: EtcdKeys): Target {
  if (op.type === 'delete') {
    const namespace = namespaceKey(op.ref.namespace);
    return {
      key: keys.object(op.ref.kind, namespace, op.ref.name),
      kind: op.ref.kind,
      namespace,
      name: op.ref.name,
      generated: false,
    };
  }
  const kind = kindOf(op.object);
  const meta = metadataOf(op.object);
  const namespace = namespaceKey(meta.namespace);
  let name = meta.name;
  let generated = false;
  if (op.type === 'create' && (name === undefined || name === '')) {
    name = randomName(generateNamePrefix(meta.generateName));
    generated = true;
  } else if (typeof name !== 'string' || name === '') {
    throw new Invalid('name is required', [fieldRequired('metadata.name', 'name is required')]);
  }
  return { key: keys.object(kind, namespace, name), kind, namespace, name, generated };
}

export function createdText(
  object: KubeObject,
  name: string,
  namespace: string,
  uid: string,
  now: string,
): string {
  return JSON.stringify(
    withMetadata(object, {
      name,
      namespace: namespace === '' ? undefined : namespace,
      uid,
      resourceVersion: '',
      generation: 1,
      creationTimestamp: now,
    }),
  );
}
