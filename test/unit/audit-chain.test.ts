// The audit hash chain: the store chains AuditRecords in commit order, and verify names each record altered, removed or
// reordered behind its back (rows changed with SQL in the store's file).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { AUDIT_CHAIN_HEAD, canonicalJson, verifyAuditChain, type ChainHead } from '../../src/audit/chain.ts';
import { auditRecord } from '../../src/audit/record.ts';
import { run } from '../../src/cli/program.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';

const record = (i: number, namespace = 'default'): KubeObject =>
  auditRecord({ user: 'alice', verb: 'patch', resource: { kind: 'VirtualMachine', namespace, name: `vm-${i}` }, outcome: { code: 200 } });

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function verifyCli(dataDir: string): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => true }, stdin: () => (async function* () {})(), env: {}, cwd: '/' };
  const code = await run(['audit', 'verify', '--data-dir', dataDir], io);
  return { code, stdout };
}

test('canonical JSON sorts keys at every level and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined, x: 2 }], c: null } }), '{"a":{"c":null,"d":[1,{"x":2,"z":1}]},"b":1}');
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

  const chain = async (): Promise<{ records: KubeObject[]; head: ChainHead }> => ({
    records: (await store.list('AuditRecord')).items,
    head: (await store.get(AUDIT_CHAIN_HEAD))!.spec as ChainHead,
  });

  test('records written concurrently are chained in commit (resourceVersion) order; a failed batch takes no sequence', async () => {
    const written = await Promise.all(Array.from({ length: 40 }, (_, i) => store.create(record(i, i % 2 ? 'default' : 'other'))));
    // a batch that fails (update of a missing object) rolls back its audit record and the head with it
    await assert.rejects(store.commit([{ type: 'create', object: record(99) }, { type: 'update', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'default' } } }]));
    written.push(await store.create(record(100)));
    const byRv = [...written].sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
    assert.deepEqual(byRv.map((r) => (r.spec as { sequence: number }).sequence), Array.from({ length: 41 }, (_, i) => i + 1));
    const { records, head } = await chain();
    assert.deepEqual(head.sequence, 41);
    assert.deepEqual(verifyAuditChain(records, head), { ok: true, records: 41, last: 41, problems: [] });
    assert.equal((await verifyCli(dataDir)).code, 0);
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
      sql(`UPDATE objects SET json = json_set(json, '$.spec.outcome.code', 403) WHERE kind = 'AuditRecord' AND name = ?`, names[2]!);
      await expectBroken('altered', names[2]!);
    });
    test('altered and re-hashed: the next record no longer follows it', async () => {
      const db = new Database(join(dataDir, 'harrow.db'));
      const { recordHash } = await import('../../src/audit/chain.ts');
      const row = db.prepare(`SELECT json FROM objects WHERE kind = 'AuditRecord' AND name = ?`).pluck().get(names[1]!) as string;
      const o = JSON.parse(row) as KubeObject & { spec: Record<string, unknown> };
      o.spec.user = 'mallory';
      o.spec.hash = recordHash(o);
      db.prepare(`UPDATE objects SET json = ? WHERE kind = 'AuditRecord' AND name = ?`).run(JSON.stringify(o), names[1]!);
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
      sql(`UPDATE objects SET json = json_set(json, '$.spec.sequence', 4) WHERE kind = 'AuditRecord' AND name = ?`, names[1]!);
      sql(`UPDATE objects SET json = json_set(json, '$.spec.sequence', 2) WHERE kind = 'AuditRecord' AND name = ?`, names[3]!);
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
