// The audit hash chain: the store chains AuditRecords in commit order, and verify names each record altered, removed or
// reordered behind its back (rows changed with SQL in the store's file).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  canonicalJson,
  recordHash,
  sealAuditRecord,
  verifyAuditChain,
  type ChainHead,
} from '../../src/audit/chain.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';
import { auditChainContract, auditRecordFor } from './audit-chain-contract.ts';
import { runCliInProcess, type CliRun } from './cli-fixtures.ts';

const record = auditRecordFor;

auditChainContract('SQLite', () => openSqliteStore(':memory:'));

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const verifyCli = (dataDir: string): Promise<CliRun> =>
  runCliInProcess(['audit', 'verify', '--data-dir', dataDir], { env: {}, cwd: '/' });

test('canonical JSON sorts keys at every level and drops undefined', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined, x: 2 }], c: null } }),
    '{"a":{"c":null,"d":[1,{"x":2,"z":1}]},"b":1}',
  );
});

describe('audit chain in the SQLite store', () => {
  let dataDir: string;
  let store: SqliteStore;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'harrow-audit-'));
    dirs.push(dataDir);
    store = await openSqliteStore(join(dataDir, 'harrow.db'));
  });
  afterEach(async () => {
    await store.close();
  });

  describe('tampering with the rows is found and the record named', () => {
    let names: string[];
    beforeEach(async () => {
      names = [];
      for (let i = 0; i < 5; i++) names.push((await store.create(record(i))).metadata.name);
      await store.close();
    });
    afterEach(async () => {
      store = await openSqliteStore(join(dataDir, 'harrow.db'));
    });
    const sql = (statement: string, ...params: string[]): void => {
      const db = new Database(join(dataDir, 'harrow.db'));
      try {
        assert.equal(db.prepare(statement).run(...params).changes, 1, statement);
      } finally {
        db.close();
      }
    };
    const expectBroken = async (kind: string, name: string): Promise<void> => {
      const r = await verifyCli(dataDir);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, new RegExp(`^${kind}: .*default/${name}`, 'm'));
    };

    test('untampered passes', async () => {
      const r = await verifyCli(dataDir);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /intact: 5 record\(s\), sequence 1–5, matching the chain head/);
    });
    test('altered: a changed outcome', async () => {
      sql(
        `UPDATE objects SET json = json_set(json, '$.spec.outcome.code', 403) WHERE kind = 'AuditRecord' AND name = ?`,
        names[2]!,
      );
      await expectBroken('altered', names[2]!);
      // -o json: the shape fsck -o json prints too (check, ok, problems with kind/name/message).
      const j = await runCliInProcess(['audit', 'verify', '--data-dir', dataDir, '-o', 'json'], {
        env: {},
        cwd: '/',
      });
      const report = JSON.parse(j.stdout) as {
        check: string;
        ok: boolean;
        problems: Array<{ kind: string; name?: string; message: string }>;
      };
      assert.deepEqual([report.check, report.ok], ['audit-chain', false]);
      const altered = report.problems.find((p) => p.kind === 'altered');
      assert.equal(altered?.name, `default/${names[2]}`);
      assert.match(altered?.message ?? '', /./);
    });
    test('altered and re-hashed: the next record no longer follows it', async () => {
      const db = new Database(join(dataDir, 'harrow.db'));
      const { recordHash } = await import('../../src/audit/chain.ts');
      const row = db
        .prepare(`SELECT json FROM objects WHERE kind = 'AuditRecord' AND name = ?`)
        .pluck()
        .get(names[1]!) as string;
      const o = JSON.parse(row) as KubeObject & { spec: Record<string, unknown> };
      o.spec.user = 'mallory';
      o.spec.hash = recordHash(o);
      db.prepare(`UPDATE objects SET json = ? WHERE kind = 'AuditRecord' AND name = ?`).run(
        JSON.stringify(o),
        names[1]!,
      );
      db.close();
      await expectBroken('reordered', names[2]!);
    });
    test('removed from the middle', async () => {
      sql(`DELETE FROM objects WHERE kind = 'AuditRecord' AND name = ?`, names[2]!);
      await expectBroken('removed', names[3]!);
    });
    test('removed at the end (only the head knows)', async () => {
      sql(`DELETE FROM objects WHERE kind = 'AuditRecord' AND name = ?`, names[4]!);
      await expectBroken('removed', names[3]!);
    });
    test('reordered: two records swap sequence numbers', async () => {
      sql(
        `UPDATE objects SET json = json_set(json, '$.spec.sequence', 4) WHERE kind = 'AuditRecord' AND name = ?`,
        names[1]!,
      );
      sql(
        `UPDATE objects SET json = json_set(json, '$.spec.sequence', 2) WHERE kind = 'AuditRecord' AND name = ?`,
        names[3]!,
      );
      const r = await verifyCli(dataDir);
      assert.equal(r.code, 1);
      assert.match(r.stdout, new RegExp(`^reordered: .*default/${names[3]} \\(sequence 2\\)`, 'm'));
      assert.match(r.stdout, new RegExp(`^altered: .*default/${names[1]}`, 'm'));
    });
    test('a record inserted without the chain', async () => {
      sql(
        `INSERT INTO objects (kind, namespace, name, rv, json) VALUES ('AuditRecord', 'default', 'forged', 999, ?)`,
        JSON.stringify({ ...record(7), metadata: { name: 'forged', namespace: 'default' } }),
      );
      await expectBroken('unchained', 'forged');
    });
  });
});

describe('several chains (one per etcd replica)', () => {
  /** `count` records sealed onto `chain`, and its head. */
  function chain(name: string, count: number): { records: KubeObject[]; head: ChainHead } {
    const records: KubeObject[] = [];
    let head: ChainHead | undefined;
    for (let i = 0; i < count; i++) {
      const sealed = sealAuditRecord(record(i), head, name);
      records.push(sealed.record);
      head = sealed.head;
    }
    return { records, head: head! };
  }
  const kinds = (records: KubeObject[], heads: Map<string, ChainHead>) =>
    verifyAuditChain(records, heads).problems.map((p) => `${p.kind} ${p.chain} ${p.sequence}`);

  test('each chain is walked on its own: interleaved records of two chains verify', () => {
    const a = chain('a', 3);
    const b = chain('b', 4);
    const report = verifyAuditChain(
      [...a.records, ...b.records].reverse(),
      new Map([
        ['a', a.head],
        ['b', b.head],
      ]),
    );
    assert.deepEqual(
      [report.ok, report.records, report.chains],
      [
        true,
        7,
        [
          { chain: 'a', records: 3, last: 3 },
          { chain: 'b', records: 4, last: 4 },
        ],
      ],
    );
  });

  test('a record moved to another chain is altered there and missing from its own', () => {
    const a = chain('a', 3);
    const b = chain('b', 3);
    const moved = structuredClone(a.records[1]!);
    (moved.spec as Record<string, unknown>).chain = 'b';
    (moved.spec as Record<string, unknown>).sequence = 4;
    const heads = new Map([
      ['a', a.head],
      ['b', b.head],
    ]);
    assert.deepEqual(kinds([a.records[0]!, a.records[2]!, ...b.records, moved], heads), [
      'removed a 3',
      'altered b 4',
      'reordered b 4',
      'head-mismatch b 3',
    ]);
  });

  test('a chain whose records are all gone is named by its head; a record naming no valid chain is unchained', () => {
    const a = chain('a', 2);
    const b = chain('b', 2);
    const stray = structuredClone(b.records[0]!);
    (stray.spec as Record<string, unknown>).chain = 7;
    (stray.spec as Record<string, unknown>).hash = recordHash(stray);
    const report = verifyAuditChain(
      [...a.records, stray],
      new Map([
        ['a', a.head],
        ['b', b.head],
      ]),
    );
    assert.deepEqual(
      report.problems.map((p) => `${p.kind} ${p.chain ?? ''}`),
      ['unchained ', 'removed b'],
    );
    assert.match(
      report.problems[1]!.message,
      /the chain b ends at sequence 2, but the last record found is 0/,
    );
  });
});
