// The etcd store against a real single-member etcd: the shared ResourceStore contract, then what etcd adds (batch records,
// compaction, replicas, group commit of audited writes).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifyAuditChain } from '../../src/audit/chain.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd/store.ts';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd.ts';
import { auditChainContract, auditRecordFor, storedHeads } from '../unit/audit-chain-contract.ts';
import { runCliInProcess } from '../unit/cli-fixtures.ts';
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
async function open(prefix = `/t${process.pid}-${++n}`, auditChain?: string): Promise<EtcdStore> {
  if (!etcd) throw new Error('etcd did not start');
  return openEtcdStore({
    endpoints: etcd.endpoints,
    prefix,
    ...(auditChain !== undefined ? { auditChain } : {}),
  });
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

/** A VM create with its AuditRecord, as the apiserver commits it. */
const auditedCreate = (store: EtcdStore, name: string): Promise<KubeObject[]> =>
  store.commit([
    { type: 'create', object: vm(name) },
    { type: 'create', object: auditRecordFor(0) },
  ]);

const rvOf = (o: KubeObject): string => o.metadata.resourceVersion ?? '';

async function assertChainWhole(store: EtcdStore, records: number): Promise<void> {
  const report = verifyAuditChain(
    (await store.list('AuditRecord')).items,
    await storedHeads(store),
  );
  assert.deepEqual(report.problems, []);
  assert.equal(report.records, records);
}

describe('group commit', () => {
  test('many concurrent audited creates all succeed with their own records, sharing Txns', async () => {
    const store = await open();
    try {
      const written = await Promise.all(
        Array.from({ length: 120 }, (_, i) => auditedCreate(store, `vm-${i}`)),
      );
      written.forEach(([created, record], i) => {
        assert.equal(created!.metadata.name, `vm-${i}`, 'each caller gets its own VM');
        assert.equal(record!.kind, 'AuditRecord');
        assert.equal(rvOf(created!), rvOf(record!), 'the VM and its record are one commit');
      });
      const records = written.map(([, r]) => r!);
      assert.equal(new Set(records.map((r) => r.metadata.name)).size, 120, 'distinct records');
      const sequences = records.map((r) => (r.spec as { sequence: number }).sequence);
      assert.deepEqual(
        [...sequences].sort((a, b) => a - b),
        Array.from({ length: 120 }, (_, i) => i + 1),
      );
      // 120 commits, fewer Txns: commits that queued behind a Txn in flight went out together; none beyond the bound.
      const perRevision = new Map<string, number>();
      for (const r of records) perRevision.set(rvOf(r), (perRevision.get(rvOf(r)) ?? 0) + 1);
      assert.ok(perRevision.size < 120, `${perRevision.size} revisions for 120 commits`);
      assert.ok(
        Math.max(...perRevision.values()) <= 50,
        `at most 100 ops (50 commits of 2) per Txn: ${JSON.stringify([...perRevision.values()])}`,
      );
      await assertChainWhole(store, 120);
    } finally {
      await store.close();
    }
  });

  test('a commit that fails in a group fails alone, with its own error; the others commit', async () => {
    const store = await open();
    try {
      await auditedCreate(store, 'taken');
      const stale = await store.create(vm('stale'));
      await store.update({ ...stale, spec: { runStrategy: 'Always' } });
      // The first commit goes out alone; the rest queue behind it and share the next Txn.
      const calls: Array<Promise<KubeObject[]>> = [
        auditedCreate(store, 'first'),
        auditedCreate(store, 'a'),
        auditedCreate(store, 'taken'),
        auditedCreate(store, 'b'),
        store.commit([
          { type: 'update', object: stale },
          { type: 'create', object: auditRecordFor(1) },
        ]),
        store.commit([
          { type: 'delete', ref: { kind: 'VirtualMachine', namespace: 'default', name: 'gone' } },
          { type: 'create', object: auditRecordFor(2) },
        ]),
        auditedCreate(store, 'c'),
        // Two of one group create the same name: the first wins, as if they had run one after the other.
        auditedCreate(store, 'twice'),
        auditedCreate(store, 'twice'),
      ];
      const results = await Promise.allSettled(calls);
      const [first, a, taken, b, update, del, c, twice1, twice2] = results;
      const ok = [a, b, c, twice1].map((r) => {
        assert.equal(r?.status, 'fulfilled', String((r as PromiseRejectedResult).reason));
        return (r as PromiseFulfilledResult<KubeObject[]>).value;
      });
      assert.equal(first?.status, 'fulfilled');
      assert.deepEqual(
        ok.map(([v]) => v!.metadata.name),
        ['a', 'b', 'c', 'twice'],
      );
      assert.equal(new Set(ok.map(([v]) => rvOf(v!))).size, 1, 'the survivors shared one Txn');
      const takenError = await rejectsWith(calls[2]!, 'AlreadyExists');
      assert.match(takenError.message, /"taken"/);
      await rejectsWith(calls[4]!, 'Conflict');
      await rejectsWith(calls[5]!, 'NotFound');
      const twiceError = await rejectsWith(calls[8]!, 'AlreadyExists');
      assert.match(twiceError.message, /"twice"/);
      assert.deepEqual(
        [taken, update, del, twice2].map((r) => r?.status),
        ['rejected', 'rejected', 'rejected', 'rejected'],
      );
      // Failed commits took no sequence number and wrote nothing: 'taken' keeps its first uid, 'stale' its update.
      const kept = await store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'stale' });
      assert.equal((kept?.spec as { runStrategy?: string }).runStrategy, 'Always');
      await assertChainWhole(store, 6);
    } finally {
      await store.close();
    }
  });

  test('updates that queue share a Txn; two of one object in it reach watchers as two changes, in order', async () => {
    const store = await open();
    try {
      const w = await store.create(vm('w'));
      const x = await store.create(vm('x'));
      const rec = new Recorder(store, 'VirtualMachine', {
        sinceResourceVersion: x.metadata.resourceVersion,
      });
      const strategy = (runStrategy: string) => ({ ...vm('w'), spec: { runStrategy } });
      // The first goes out alone; the three behind it share the next Txn.
      const [first, second, third, other] = await Promise.all([
        store.update(strategy('Always')),
        store.update(strategy('Manual')),
        store.update(strategy('RerunOnFailure')),
        store.update({ ...x, spec: { runStrategy: 'Always' } }),
      ]);
      assert.notEqual(rvOf(first!), rvOf(second!));
      assert.deepEqual([rvOf(third!), rvOf(other!)], [rvOf(second!), rvOf(second!)]);
      assert.equal(third!.metadata.generation, (w.metadata.generation ?? 0) + 3);
      await rec.until((es) => es.length === 4, 'four changes');
      rec.handle.stop();
      assert.deepEqual(
        rec.events.map(
          (e) =>
            `${e.object.metadata.name} ${(e.object.spec as { runStrategy: string }).runStrategy}`,
        ),
        ['w Always', 'w Manual', 'w RerunOnFailure', 'x Always'],
      );
    } finally {
      await store.close();
    }
  });

  test('a group too large for one etcd request is committed in parts', async () => {
    const store = await open();
    try {
      // 24 commits of ~100 KiB: together beyond etcd's 1.5 MiB request limit, each alone well within it.
      const big = 'x'.repeat(100 * 1024);
      const written = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          store.commit([
            {
              type: 'create',
              object: {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: { name: `big-${i}`, namespace: 'default' },
                data: { big },
              },
            },
            { type: 'create', object: auditRecordFor(i) },
          ]),
        ),
      );
      assert.equal(written.length, 24);
      assert.ok(new Set(written.map(([o]) => rvOf(o!))).size > 2, 'in several Txns');
      await assertChainWhole(store, 24);
    } finally {
      await store.close();
    }
  });
});

describe('per-replica audit chains', () => {
  test('two replicas writing at once chain their own records: no race lost on a head, both chains whole', async () => {
    const prefix = `/chains${process.pid}-${++n}`;
    const replicas = [await open(prefix, 'replica-a'), await open(prefix, 'replica-b')];
    try {
      await Promise.all(
        Array.from({ length: 200 }, (_, i) => auditedCreate(replicas[i % 2]!, `vm-${i}`)),
      );
      assert.deepEqual(
        replicas.map((r) => r.lostRaces),
        [0, 0],
        'no Txn of either replica lost a race',
      );
      const report = verifyAuditChain(
        (await replicas[0]!.list('AuditRecord')).items,
        await storedHeads(replicas[1]!),
      );
      assert.deepEqual(report.problems, []);
      assert.deepEqual(report.chains, [
        { chain: 'replica-a', records: 100, last: 100 },
        { chain: 'replica-b', records: 100, last: 100 },
      ]);
    } finally {
      for (const r of replicas) await r.close();
    }
  });

  test('audit verify --etcd merges the chains and names a record altered, removed or reordered in either', async () => {
    const prefix = `/tamper${process.pid}-${++n}`;
    const replicas = [await open(prefix, 'replica-a'), await open(prefix, 'replica-b')];
    const verify = () =>
      runCliInProcess(
        ['audit', 'verify', '--etcd', etcd!.endpoints.join(','), '--etcd-prefix', prefix],
        { env: {}, cwd: '/' },
      );
    try {
      const chains: KubeObject[][] = [[], []];
      for (let i = 0; i < 10; i++) {
        const [, record] = await auditedCreate(replicas[i % 2]!, `vm-${i}`);
        chains[i % 2]!.push(record!);
      }
      const intact = await verify();
      assert.equal(intact.code, 0, intact.stdout + intact.stderr);
      assert.match(
        intact.stdout,
        /intact: 10 record\(s\) in 2 chains \(replica-a: 1–5, replica-b: 1–5\), matching the chain heads/,
      );
      const client = replicas[0]!.client;
      const keyOf = (r: KubeObject) => `${prefix}/AuditRecord/o/default\u0000${r.metadata.name}`;
      const rewrite = async (r: KubeObject, change: (spec: Record<string, unknown>) => void) => {
        const o = JSON.parse((await client.get(keyOf(r)).string())!) as KubeObject;
        change(o.spec as Record<string, unknown>);
        await client.put(keyOf(r)).value(JSON.stringify(o));
      };
      const [a, b] = chains as [KubeObject[], KubeObject[]];
      await rewrite(a[1]!, (spec) => (spec.user = 'mallory'));
      await client.delete().key(keyOf(b[2]!));
      await rewrite(a[3]!, (spec) => (spec.sequence = 5));
      await rewrite(a[4]!, (spec) => (spec.sequence = 4));
      const broken = await verify();
      assert.equal(broken.code, 1, broken.stdout + broken.stderr);
      const line = (kind: string, r: KubeObject, at: string) =>
        new RegExp(`^${kind}: .*default/${r.metadata.name} \\(chain ${at}\\)`, 'm');
      assert.match(broken.stdout, line('altered', a[1]!, 'replica-a, sequence 2'));
      assert.match(broken.stdout, line('removed', b[3]!, 'replica-b, sequence 4'));
      assert.match(broken.stdout, line('reordered', a[4]!, 'replica-a, sequence 4'));
    } finally {
      for (const r of replicas) await r.close();
    }
  });
});
