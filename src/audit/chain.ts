// The audit hash chains: each AuditRecord gets a sequence number and the SHA-256 of its content and its predecessor's
// hash, assigned by the store in commit order. A store with one writer (SQLite) keeps one chain; each etcd replica keeps
// its own (its name in spec.chain), so replicas never contend on one head. verify walks every chain and names each
// record altered, removed or reordered.
import { createHash } from 'node:crypto';
import type { KubeObject, ObjectRef } from '../resources/meta.ts';

/** The chain of a single writer, and of records that name no chain (all records written before chains had names). */
export const DEFAULT_AUDIT_CHAIN = 'audit';

/** Where the store keeps a chain's head, updated in the same transaction as the record it points to. */
export const auditChainHead = (chain: string): ObjectRef => ({
  kind: 'AuditChainHead',
  name: chain,
});

/** The default chain's head. */
export const AUDIT_CHAIN_HEAD: ObjectRef = auditChainHead(DEFAULT_AUDIT_CHAIN);
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

/**
 * The record as it is stored: next in `chain` after `head` (undefined: the first). Returns the new head too. A record of
 * a named chain says so in spec.chain (covered by its hash); one of the default chain names none.
 */
export function sealAuditRecord(
  record: KubeObject,
  head: ChainHead | undefined,
  chain = DEFAULT_AUDIT_CHAIN,
): { record: KubeObject; head: ChainHead } {
  const sequence = (head?.sequence ?? 0) + 1;
  const {
    sequence: _s,
    previousHash: _p,
    hash: _h,
    chain: _c,
    ...spec
  } = (record.spec ?? {}) as Spec;
  const sealed: KubeObject = {
    ...record,
    spec: {
      ...spec,
      ...(chain !== DEFAULT_AUDIT_CHAIN ? { chain } : {}),
      sequence,
      previousHash: head?.hash ?? GENESIS_HASH,
    },
  };
  const hash = recordHash(sealed);
  (sealed.spec as Spec).hash = hash;
  return { record: sealed, head: { sequence, hash } };
}

export function chainHeadObject(
  head: ChainHead,
  record: KubeObject,
  chain = DEFAULT_AUDIT_CHAIN,
): AuditChainHeadObject {
  return {
    apiVersion: 'harrow.io/v1',
    kind: 'AuditChainHead',
    metadata: { name: chain },
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
  /** The chain the problem is in, when it is not the default one. */
  chain?: string;
  sequence?: number;
  message: string;
}

export interface ChainSummary {
  chain: string;
  records: number;
  /** The last sequence number seen in the chain. */
  last: number;
}

export interface ChainReport {
  ok: boolean;
  records: number;
  /** The last sequence number seen: of the only chain, or the highest of several. */
  last: number;
  /** Every chain found (in records or heads), by name. */
  chains: ChainSummary[];
  problems: ChainProblem[];
}

/** The heads among stored AuditChainHead objects, by chain name: what verifyAuditChain checks each chain's end against. */
export function chainHeads(objects: KubeObject[]): Map<string, ChainHead> {
  return new Map(
    objects
      .filter((o) => o.kind === 'AuditChainHead')
      .map((o) => [o.metadata.name, o.spec as ChainHead] as const),
  );
}

const nameOf = (r: KubeObject): string => `${r.metadata.namespace ?? ''}/${r.metadata.name}`;

/** The chain a record says it belongs to; undefined when spec.chain is there but no name. */
function chainOf(r: KubeObject): string | undefined {
  const chain = (r.spec as Spec | undefined)?.chain;
  if (chain === undefined) return DEFAULT_AUDIT_CHAIN;
  return typeof chain === 'string' && chain !== '' ? chain : undefined;
}

/**
 * Sorts the records into their chains and walks each in sequence order; the report covers every chain, the chains in
 * name order. `heads` (by chain name, e.g. from chainHeads) also catches removal of a chain's last records.
 */
export function verifyAuditChain(
  records: KubeObject[],
  heads?: ReadonlyMap<string, ChainHead>,
): ChainReport {
  const problems: ChainProblem[] = [];
  const chains = new Map<string, Array<{ r: KubeObject; seq: number }>>();
  for (const chain of heads?.keys() ?? []) chains.set(chain, []);
  for (const r of records) {
    const seq = (r.spec as Spec | undefined)?.sequence;
    const chain = chainOf(r);
    if (chain !== undefined && typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0) {
      const entries = chains.get(chain) ?? [];
      entries.push({ r, seq });
      chains.set(chain, entries);
    } else
      problems.push({
        kind: 'unchained',
        record: nameOf(r),
        message: `AuditRecord ${nameOf(r)} has no ${chain === undefined ? 'chain name' : 'sequence number'}: it was not written through the store's chain (or its chain fields were removed)`,
      });
  }
  const summaries = [...chains.keys()].sort().map((chain) => {
    const entries = chains.get(chain) as Array<{ r: KubeObject; seq: number }>;
    const last = walkChain(chain, entries, heads?.get(chain), problems);
    return { chain, records: entries.length, last };
  });
  return {
    ok: problems.length === 0,
    records: records.length,
    last: Math.max(0, ...summaries.map((c) => c.last)),
    chains: summaries,
    problems,
  };
}

/**
 * Walks one chain in sequence order; returns its last sequence. A changed record no longer matches its own hash
 * (altered); a record whose previousHash is not its predecessor's hash was moved or had its predecessor rewritten
 * (reordered); a gap in the sequence is a removal; `head`, when given, also catches removal of the last records.
 */
function walkChain(
  chain: string,
  chained: Array<{ r: KubeObject; seq: number }>,
  head: ChainHead | undefined,
  problems: ChainProblem[],
): number {
  const named = chain !== DEFAULT_AUDIT_CHAIN;
  const inChain = named ? { chain } : {};
  const at = (name: string, seq: number): string =>
    `${name} (${named ? `chain ${chain}, ` : ''}sequence ${seq})`;
  chained.sort((a, b) => a.seq - b.seq || nameOf(a.r).localeCompare(nameOf(b.r)));
  let previous: { r: KubeObject; seq: number } | undefined;
  for (const entry of chained) {
    const { r, seq } = entry;
    const spec = r.spec as Spec;
    const name = nameOf(r);
    const found = { record: name, ...inChain, sequence: seq };
    if (previous && previous.seq === seq) {
      problems.push({
        kind: 'duplicate-sequence',
        ...found,
        message: `AuditRecord ${name} has sequence ${seq}${named ? ` in chain ${chain}` : ''}, as ${nameOf(previous.r)} has`,
      });
      continue;
    }
    if (recordHash(r) !== spec.hash) {
      problems.push({
        kind: 'altered',
        ...found,
        message: `AuditRecord ${at(name, seq)} was altered: its content no longer matches its hash`,
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
        ...found,
        message: `${named ? `chain ${chain}: ` : ''}${gap} missing before AuditRecord ${at(name, seq)}${previous ? `, after ${nameOf(previous.r)}` : ''}`,
      });
    } else {
      const expectedPrevious = previous ? (previous.r.spec as Spec).hash : GENESIS_HASH;
      if (spec.previousHash !== expectedPrevious) {
        problems.push({
          kind: 'reordered',
          ...found,
          message: `AuditRecord ${at(name, seq)} does not follow ${previous ? nameOf(previous.r) : `the start of the chain${named ? ` ${chain}` : ''}`}: its previousHash is not that record's hash`,
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
    const theChain = `the chain${named ? ` ${chain}` : ''}`;
    problems.push({
      kind: head.sequence > last ? 'removed' : 'head-mismatch',
      ...inChain,
      sequence: head.sequence,
      ...(previous ? { record: nameOf(previous.r) } : {}),
      message:
        head.sequence > last
          ? `${theChain} ends at sequence ${head.sequence}, but the last record found is ${last}${previous ? ` (${nameOf(previous.r)})` : ''}: the records after it were removed`
          : `the head of ${theChain} (sequence ${head.sequence}) does not match the last record ${previous ? nameOf(previous.r) : ''} (sequence ${last})`,
    });
  }
  return last;
}
