// What every ResourceStore must do for the audit hash chain (run against SQLite and etcd): chain AuditRecords in commit order.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { chainHeads, verifyAuditChain, type ChainHead } from '../../src/audit/chain.ts';
import { auditRecord } from '../../src/audit/record.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { ResourceStore } from '../../src/store/types.ts';

export const auditRecordFor = (i: number, namespace = 'default'): KubeObject =>
  auditRecord({
    user: 'alice',
    verb: 'patch',
    resource: { kind: 'VirtualMachine', namespace, name: `vm-${i}` },
    outcome: { code: 200 },
  });

const sequenceOf = (o: KubeObject): number => (o.spec as { sequence: number }).sequence;

/** The store's chain heads: one chain per store (SQLite's single one, or this etcd store's own). */
export const storedHeads = async (store: ResourceStore): Promise<Map<string, ChainHead>> =>
  chainHeads((await store.list('AuditChainHead')).items);

/** The only chain head the store holds. */
async function onlyHead(store: ResourceStore): Promise<ChainHead> {
  const heads = [...(await storedHeads(store)).values()];
  assert.equal(heads.length, 1, 'one chain');
  return heads[0]!;
}

/** Registers the chain's contract tests for a store made by `open` (closed after each test). */
export function auditChainContract(storeName: string, open: () => Promise<ResourceStore>): void {
  describe(`${storeName}: the audit hash chain`, () => {
    let store: ResourceStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    test('records written concurrently, alone or with other objects, are chained in resourceVersion order', async () => {
      const written = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          i % 3 === 0
            ? store
                .commit([
                  {
                    type: 'create',
                    object: {
                      apiVersion: 'v1',
                      kind: 'ConfigMap',
                      metadata: { name: `c${i}`, namespace: 'default' },
                    },
                  },
                  { type: 'create', object: auditRecordFor(i) },
                ])
                .then((w) => w[1]!)
            : store.create(auditRecordFor(i, i % 2 ? 'default' : 'other')),
        ),
      );
      const byRv = [...written].sort(
        (a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion),
      );
      assert.deepEqual(
        byRv.map(sequenceOf),
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      assert.equal((await onlyHead(store)).sequence, 30);
      const report = verifyAuditChain(
        (await store.list('AuditRecord')).items,
        await storedHeads(store),
      );
      assert.deepEqual(
        [report.ok, report.records, report.last, report.problems],
        [true, 30, 30, []],
      );
    });

    test('a batch that fails takes no sequence number and leaves the head where it was', async () => {
      await store.create(auditRecordFor(1));
      const missing = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'absent', namespace: 'default' },
      };
      await assert.rejects(
        store.commit([
          { type: 'create', object: auditRecordFor(2) },
          { type: 'update', object: missing },
        ]),
      );
      assert.equal((await onlyHead(store)).sequence, 1);
      assert.equal(sequenceOf(await store.create(auditRecordFor(3))), 2);
      assert.equal(
        verifyAuditChain((await store.list('AuditRecord')).items, await storedHeads(store)).ok,
        true,
      );
    });
  });
}
