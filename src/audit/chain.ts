// The audit hash chain: each AuditRecord gets a sequence number and the SHA-256 of its content and its predecessor's hash,
// assigned by the store in commit order; verify walks the chain and names every record altered, removed or reordered.
import { createHash } from 'node:crypto';
import type { KubeObject, ObjectRef } from '../resources/meta.ts';

/** Where the store keeps the chain's head, updated in the same transaction as the record it points to. */
export const AUDIT_CHAIN_HEAD: ObjectRef = { kind: 'AuditChainHead', name: 'audit' };
/** previousHash of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainHead {
  sequence: number;
  hash: string;
}

export interface AuditChainHeadObject extends KubeObject {
  kind: 'AuditChainHead';
  spec: ChainHead & { record: { namespace: string; name: string } };
}

/** JSON with object keys sorted at every level: the same content always hashes the same, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
}

type Spec = Record<string, unknown>;

/** What the hash covers: the record's identity, labels and spec (with its sequence and previousHash), not its own hash. */
function hashedContent(record: KubeObject): unknown {
  const { hash: _hash, ...spec } = (record.spec ?? {}) as Spec;
  const m = record.metadata;
  return {
    kind: record.kind,
    namespace: m.namespace ?? '',
    name: m.name,
    labels: m.labels ?? {},
    annotations: m.annotations ?? {},
    spec,
  };
}

export const recordHash = (record: KubeObject): string =>
  createHash('sha256')
    .update(canonicalJson(hashedContent(record)))
    .digest('hex');

/** The record as it is stored: next in the chain after `head` (undefined: the first). Returns the new head too. */
export function sealAuditRecord(
  record: KubeObject,
  head: ChainHead | undefined,
): { record: KubeObject; head: ChainHead } {
  const sequence = (head?.sequence ?? 0) + 1;
  const { sequence: _s, previousHash: _p, hash: _h, ...spec } = (record.spec ?? {}) as Spec;
  const sealed: KubeObject = {
    ...record,
    spec: { ...spec, sequence, previousHash: head?.hash ?? GENESIS_HASH },
  };
  const hash = recordHash(sealed);
  (sealed.spec as Spec).hash = hash;
  return { record: sealed, head: { sequence, hash } };
}

export function chainHeadObject(head: ChainHead, record: KubeObject): AuditChainHeadObject {
  return {
    apiVersion: 'harrow.io/v1',
    kind: 'AuditChainHead',
    metadata: { name: AUDIT_CHAIN_HEAD.name },
    spec: {
      ...head,
      record: { namespace: record.metadata.namespace ?? '', name: record.metadata.name },
    },
  };
}

export type ChainProblemKind =
  'altered' | 'removed' | 'reordered' | 'unchained' | 'duplicate-sequence' | 'head-mismatch';

export interface ChainProblem {
  kind: ChainProblemKind;
  /** The record (namespace/name) the problem is found at. */
  record?: string;
  sequence?: number;
  message: string;
}

export interface ChainReport {
  ok: boolean;
  records: number;
  /** The last sequence number seen. */
  last: number;
  problems: ChainProblem[];
}

const nameOf = (r: KubeObject): string => `${r.metadata.namespace ?? ''}/${r.metadata.name}`;

/**
 * Walks the records in sequence order. A changed record no longer matches its own hash (altered); a record whose
 * previousHash is not its predecessor's hash was moved or had its predecessor rewritten (reordered); a gap in the
 * sequence is a removal; `head`, when given, also catches removal of the last records.
 */
export function verifyAuditChain(records: KubeObject[], head?: ChainHead): ChainReport {
  const problems: ChainProblem[] = [];
  const chained: Array<{ r: KubeObject; seq: number }> = [];
  for (const r of records) {
    const seq = (r.spec as Spec | undefined)?.sequence;
    if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0) chained.push({ r, seq });
    else
      problems.push({
        kind: 'unchained',
        record: nameOf(r),
        message: `AuditRecord ${nameOf(r)} has no sequence number: it was not written through the store's chain (or its chain fields were removed)`,
      });
  }
  chained.sort((a, b) => a.seq - b.seq || nameOf(a.r).localeCompare(nameOf(b.r)));
  let previous: { r: KubeObject; seq: number } | undefined;
  for (const entry of chained) {
    const { r, seq } = entry;
    const spec = r.spec as Spec;
    const name = nameOf(r);
    if (previous && previous.seq === seq) {
      problems.push({
        kind: 'duplicate-sequence',
        record: name,
        sequence: seq,
        message: `AuditRecord ${name} has sequence ${seq}, as ${nameOf(previous.r)} has`,
      });
      continue;
    }
    if (recordHash(r) !== spec.hash) {
      problems.push({
        kind: 'altered',
        record: name,
        sequence: seq,
        message: `AuditRecord ${name} (sequence ${seq}) was altered: its content no longer matches its hash`,
      });
    }
    const expectedSeq = (previous?.seq ?? 0) + 1;
    if (seq > expectedSeq) {
      const gap =
        seq - expectedSeq === 1
          ? `record ${expectedSeq} is`
          : `records ${expectedSeq}–${seq - 1} are`;
      problems.push({
        kind: 'removed',
        record: name,
        sequence: seq,
        message: `${gap} missing before AuditRecord ${name} (sequence ${seq})${previous ? `, after ${nameOf(previous.r)}` : ''}`,
      });
    } else {
      const expectedPrevious = previous ? (previous.r.spec as Spec).hash : GENESIS_HASH;
      if (spec.previousHash !== expectedPrevious) {
        problems.push({
          kind: 'reordered',
          record: name,
          sequence: seq,
          message: `AuditRecord ${name} (sequence ${seq}) does not follow ${previous ? nameOf(previous.r) : 'the start of the chain'}: its previousHash is not that record's hash`,
        });
      }
    }
    previous = entry;
  }
  const last = previous?.seq ?? 0;
  if (
    head &&
    (head.sequence !== last || (previous && (previous.r.spec as Spec).hash !== head.hash))
  ) {
    problems.push({
      kind: head.sequence > last ? 'removed' : 'head-mismatch',
      sequence: head.sequence,
      ...(previous ? { record: nameOf(previous.r) } : {}),
      message:
        head.sequence > last
          ? `the chain ends at sequence ${head.sequence}, but the last record found is ${last}${previous ? ` (${nameOf(previous.r)})` : ''}: the records after it were removed`
          : `the chain head (sequence ${head.sequence}) does not match the last record ${previous ? nameOf(previous.r) : ''} (sequence ${last})`,
    });
  }
  return { ok: problems.length === 0, records: records.length, last, problems };
}
