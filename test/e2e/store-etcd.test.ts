// The etcd store against a real single-member etcd: the shared ResourceStore contract, then what etcd adds (batch records, compaction, replicas).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd/store.ts';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd.ts';
import { auditChainContract } from '../unit/audit-chain-contract.ts';
import { Recorder, rejectsWith, storeContract, vm } from '../unit/store-contract.ts';

let etcd: EtcdCluster | undefined;
let n = 0;

before(async () => {
  etcd = await startEtcdCluster(1);
});
after(async () => {
  await etcd?.stop();
});

/** Each store gets its own prefix: stores of one test share etcd but never each other's keys. */
async function open(prefix = `/t${process.pid}-${++n}`): Promise<EtcdStore> {
  if (!etcd) throw new Error('etcd did not start');
  return openEtcdStore({ endpoints: etcd.endpoints, prefix });
}

storeContract('etcd', async () => {
  const store = await open();
  return { store, cleanup: () => store.close(), compact: () => store.compact() };
});

auditChainContract('etcd', () => open());

/** Waits until a watch from `since` is refused with Expired (synchronously, as the contract wants). */
async function untilExpired(
  store: EtcdStore,
  since: string | undefined,
  what: string,
  failures: unknown[] = [],
): Promise<void> {
  // Generous: on a busy machine the compaction and the mark's watch event can take a while; a compaction that failed
  // fails the wait at once, with its error.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      store.watch('VirtualMachine', { sinceResourceVersion: since }, () => undefined).stop();
    } catch (error) {
      assert.equal((error as { reason?: string }).reason, 'Expired');
      return;
    }
    assert.deepEqual(failures.map(String), [], `${what}: the compaction failed`);
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('etcd store', () => {
  test('two stores on one prefix share names, revisions and watches', async () => {
    const prefix = `/shared${process.pid}`;
    const s1 = await open(prefix);
    const s2 = await open(prefix);
    try {
      const rec = new Recorder(s2, 'VirtualMachine');
      const a = await s1.create(vm('a'));
      await rejectsWith(s2.create(vm('a')), 'AlreadyExists');
      const a2 = await s2.update({ ...a, spec: { runStrategy: 'Always' } });
      await rejectsWith(s1.update({ ...a, spec: { runStrategy: 'Manual' } }), 'Conflict');
      assert.deepEqual(
        await s1.get({ kind: 'VirtualMachine', namespace: 'default', name: 'a' }),
        a2,
      );
      await rec.until((es) => es.length === 2, 'the other store’s create and update');
      rec.handle.stop();
      assert.deepEqual(rec.summary(), [
        `ADDED default/a@${a.metadata.resourceVersion}`,
        `MODIFIED default/a@${a2.metadata.resourceVersion}`,
      ]);
      // s1 last saw a2; s2 changes it again: s1's update, built on what it remembers, must notice and start from a3.
      const a3 = await s2.update({ ...a2, spec: { runStrategy: 'Halted' } });
      const a4 = await s1.update(vm('a', 'default', { runStrategy: 'Manual' }));
      assert.equal(
        a4.metadata.generation,
        (a3.metadata.generation ?? 0) + 1,
        'generation counts from the latest state',
      );
      assert.ok(
        BigInt(a4.metadata.resourceVersion ?? '0') > BigInt(a3.metadata.resourceVersion ?? '0'),
        'written after a3',
      );
      await rejectsWith(s1.update({ ...a2, spec: { runStrategy: 'Always' } }), 'Conflict');
    } finally {
      await s1.close();
      await s2.close();
    }
  });

  test('startCompaction keeps only the retained revisions', async () => {
    const store = await open();
    const failures: unknown[] = [];
    const compaction = store.startCompaction({
      everyMs: 50,
      retain: 2,
      onError: (e) => failures.push(e),
    });
    try {
      const first = await store.create(vm('a'));
      for (const name of ['b', 'c', 'd', 'e']) await store.create(vm(name));
      await untilExpired(
        store,
        first.metadata.resourceVersion,
        'the periodic compaction ran',
        failures,
      );
      // Recent revisions stay watchable.
      const recent = String(Number(await store.currentResourceVersion()) - 1);
      store.watch('VirtualMachine', { sinceResourceVersion: recent }, () => undefined).stop();
    } finally {
      compaction.stop();
      await store.close();
    }
  });

  test('a compaction made through one store expires old revisions on the other at once', async () => {
    const prefix = `/compact${process.pid}`;
    const s1 = await open(prefix);
    const s2 = await open(prefix);
    try {
      const a = await s1.create(vm('a'));
      await s1.create(vm('b'));
      await s1.create(vm('c'));
      await s1.compact();
      await untilExpired(
        s2,
        a.metadata.resourceVersion,
        'the second store learns of the compaction',
      );
    } finally {
      await s1.close();
      await s2.close();
    }
  });
});
