// The SQLite store: the shared ResourceStore contract, then what only the SQLite implementation promises.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { WatchEvent } from '../../src/store/types.ts';
import fc from 'fast-check';
import { compareText } from '../../src/store/sqlite/list-cache.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import { Recorder, rejectsWith, storeContract, vm } from './store-contract.ts';

/** Polls `condition` on each turn of the event loop until it holds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setImmediate(r));
}

storeContract('sqlite (in memory)', async () => {
  const store = await openSqliteStore(':memory:');
  return { store, cleanup: () => store.close(), compact: () => store.compact() };
});

storeContract('sqlite (file, WAL)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'harrow-store-'));
  const store = await openSqliteStore(join(dir, 'state.db'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
    compact: () => store.compact(),
  };
});

describe('SQLite store', () => {
  let dir = '';
  let n = 0;
  const dbPath = () => join(dir, `s${++n}.db`);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'harrow-store-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('objects, the revision and the change log survive a reopen', async () => {
    const path = dbPath();
    const s1 = await openSqliteStore(path);
    const a = await s1.create(vm('a'));
    const mid = await s1.currentResourceVersion();
    const a2 = await s1.update({ ...a, spec: { runStrategy: 'Always' } });
    await s1.create(vm('b'));
    await s1.close();
    const s2 = await openSqliteStore(path);
    try {
      assert.deepEqual(
        await s2.get({ kind: 'VirtualMachine', namespace: 'default', name: 'a' }),
        a2,
      );
      const c = await s2.create(vm('c'));
      assert.ok(
        Number(c.metadata.resourceVersion) > Number(a2.metadata.resourceVersion) + 1,
        'revision continues',
      );
      const rec = new Recorder(s2, 'VirtualMachine', { sinceResourceVersion: mid });
      await rec.until((es) => es.length === 3, 'three replayed changes');
      rec.handle.stop();
      assert.deepEqual(
        rec.summary().map((x) => x.split('@')[0]),
        ['MODIFIED default/a', 'ADDED default/b', 'ADDED default/c'],
      );
    } finally {
      await s2.close();
    }
  });

  test('two connections on one file share one revision and one set of names', async () => {
    const path = dbPath();
    const s1 = await openSqliteStore(path);
    const s2 = await openSqliteStore(path);
    try {
      const a = await s1.create(vm('a'));
      const b = await s2.create(vm('b'));
      assert.equal(Number(b.metadata.resourceVersion), Number(a.metadata.resourceVersion) + 1);
      await rejectsWith(s2.create(vm('a')), 'AlreadyExists');
      await s2.update({ ...a, spec: { runStrategy: 'Always' } });
      await rejectsWith(s1.update({ ...a, spec: { runStrategy: 'Manual' } }), 'Conflict');
      assert.equal(await s1.currentResourceVersion(), await s2.currentResourceVersion());
      assert.deepEqual(
        (await s1.list('VirtualMachine')).items,
        (await s2.list('VirtualMachine')).items,
      );
    } finally {
      await s1.close();
      await s2.close();
    }
  });

  test('lists come from a cache that follows this store’s writes and another connection’s writes to the file', async () => {
    const path = dbPath();
    const s1 = await openSqliteStore(path);
    const s2 = await openSqliteStore(path);
    const names = async (s: typeof s1, namespace?: string): Promise<string[]> =>
      (await s.list('VirtualMachine', namespace ? { namespace } : {})).items.map(
        (o) => `${o.metadata.namespace}/${o.metadata.name}`,
      );
    try {
      await s1.create(vm('b'));
      await s1.create(vm('a', 'other'));
      assert.deepEqual(await names(s1), ['default/b', 'other/a']);
      // Written through the other connection: the first one's cache must not hide it.
      const c = await s2.create(vm('c'));
      await s2.delete({ kind: 'VirtualMachine', namespace: 'other', name: 'a' });
      assert.deepEqual(await names(s1), ['default/b', 'default/c']);
      // And the cache goes on following the first connection's own writes after it re-read the file.
      await s1.create(vm('a'));
      await s1.update({ ...c, spec: { runStrategy: 'Always' } });
      assert.deepEqual(await names(s1, 'default'), ['default/a', 'default/b', 'default/c']);
      const listed = await s1.list('VirtualMachine');
      assert.deepEqual(listed.items, (await s2.list('VirtualMachine')).items);
      assert.equal(listed.resourceVersion, await s2.currentResourceVersion());
      assert.deepEqual(
        (listed.items[2]?.spec as { runStrategy: string }).runStrategy,
        'Always',
        'the update is in the list',
      );
      // Items are copies: changing one changes no later list.
      (listed.items[0] as KubeObject).metadata.name = 'changed';
      assert.deepEqual(await names(s1), ['default/a', 'default/b', 'default/c']);
      // The bytes for a whole list are those of the items' stored JSON.
      const encoded = await s1.listEncoded('VirtualMachine');
      assert.equal(
        encoded.items.toString('utf8'),
        (await s1.listRaw('VirtualMachine')).json.join(','),
      );
      await s1.create(vm('d'));
      assert.match((await s1.listEncoded('VirtualMachine')).items.toString('utf8'), /"name":"d"/);
    } finally {
      await s1.close();
      await s2.close();
    }
  });

  test('an encoded list is the bytes of the revision it reports, even when writes commit while it waits for a WAL sync', async () => {
    const syncs: Array<() => void> = [];
    const store = await openSqliteStore(dbPath(), {
      syncWal: () => new Promise<void>((resolve) => syncs.push(resolve)),
    });
    const release = async (): Promise<void> => {
      await until(() => syncs.length > 0);
      syncs.shift()!();
    };
    try {
      const a = store.create(vm('a'));
      await release();
      await a;
      const b = store.create(vm('b'));
      await until(() => syncs.length === 1);
      const listed = store.listEncoded('VirtualMachine');
      const c = store.create(vm('c'));
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      await release();
      const { items, resourceVersion } = await listed;
      const names = (JSON.parse(`[${items.toString('utf8')}]`) as KubeObject[]).map(
        (o) => o.metadata.name,
      );
      assert.deepEqual(names, ['a', 'b']);
      assert.equal(resourceVersion, (await b).metadata.resourceVersion);
      await release();
      await c;
      // Kinds kept out of the cache are listed from the table, in the same shape.
      const record = store.create({
        apiVersion: 'harrow.io/v1',
        kind: 'AuditRecord',
        metadata: { name: 'r', namespace: 'default' },
        spec: {},
      });
      await release();
      await record;
      const records = await store.listEncoded('AuditRecord');
      assert.equal(
        records.items.toString('utf8'),
        (await store.listRaw('AuditRecord')).json.join(','),
      );
      assert.match(records.items.toString('utf8'), /"name":"r"/);
    } finally {
      const closing = store.close();
      for (const r of syncs.splice(0)) r();
      await closing;
    }
  });

  test('the list cache orders keys as SQLite does (UTF-8 bytes), also beyond the BMP', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const bytes = Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
        assert.equal(
          Math.sign(compareText(a, b)),
          bytes,
          `${JSON.stringify(a)} vs ${JSON.stringify(b)}`,
        );
      }),
    );
    assert.ok(
      compareText('\u{1F600}', '\uFFFD') > 0,
      'a character above U+FFFF sorts after U+FFFD',
    );
  });

  test('the change log keeps about changesRetained changes; older resourceVersions expire', async () => {
    const path = dbPath();
    const store = await openSqliteStore(path, { changesRetained: 50 });
    try {
      const first = await store.create(vm('a'));
      let last = first;
      for (let i = 0; i < 200; i++) last = await store.update({ ...last, status: { i } });
      const raw = new Database(path, { readonly: true });
      const count = raw.prepare('SELECT count(*) FROM changes').pluck().get() as number;
      raw.close();
      assert.ok(count >= 50 && count <= 50 + 5, `changes kept: ${count}`);
      assert.throws(
        () =>
          store.watch(
            'VirtualMachine',
            { sinceResourceVersion: first.metadata.resourceVersion },
            () => undefined,
          ),
        (e: Error & { reason?: string }) =>
          e.reason === 'Expired' && /too old resource version/.test(e.message),
      );
      const recent = String(Number(last.metadata.resourceVersion) - 40);
      const rec = new Recorder(store, 'VirtualMachine', { sinceResourceVersion: recent });
      await rec.until((es) => es.length === 40, '40 replayed changes');
      rec.handle.stop();
    } finally {
      await store.close();
    }
  });

  test('a continue token from before the compaction horizon expires', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      for (const name of ['a', 'b', 'c']) await store.create(vm(name));
      const page = await store.list('VirtualMachine', { limit: 1 });
      await store.create(vm('d'));
      await store.compact();
      await rejectsWith(
        store.list('VirtualMachine', { limit: 1, continue: page.continue }),
        'Expired',
      );
    } finally {
      await store.close();
    }
  });

  test('listRaw returns each object’s stored JSON, resourceVersion included', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      for (let i = 0; i < 5; i++) await store.create(vm(`vm-${i}`, i % 2 ? 'odd' : 'even'));
      const listed = await store.list('VirtualMachine');
      const raw = await store.listRaw('VirtualMachine');
      assert.equal(raw.resourceVersion, listed.resourceVersion);
      assert.deepEqual(
        raw.json,
        listed.items.map((o) => JSON.stringify(o)),
      );
      for (const text of raw.json) assert.match(text, /"resourceVersion":"\d+"/);
      const page = await store.listRaw('VirtualMachine', {
        namespace: 'even',
        limit: 2,
        filter: (o) => o.metadata.name !== 'vm-0',
      });
      assert.deepEqual(
        page.json.map((t) => (JSON.parse(t) as KubeObject).metadata.name),
        ['vm-2', 'vm-4'],
      );
      assert.equal(page.continue, undefined);
    } finally {
      await store.close();
    }
  });

  test('the file is in WAL mode with the durability asked for; FULL by default, read back from the running store', async () => {
    for (const [synchronous, level] of [
      [undefined, 'full'],
      ['normal', 'normal'],
      ['full', 'full'],
    ] as const) {
      const path = dbPath();
      const store = synchronous
        ? await openSqliteStore(path, { synchronous })
        : await openSqliteStore(path);
      await store.create(vm('a'));
      // synchronous is per connection, so it is read through the store's own handle.
      const db = (store as unknown as { db: Database.Database }).db;
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      // FULL is the store's own group commit of the WAL; the connection's COMMIT then only writes (NORMAL).
      assert.equal(db.pragma('synchronous', { simple: true }), 1, `synchronous ${level}`);
      assert.ok((db.pragma('busy_timeout', { simple: true }) as number) > 0, 'busy_timeout is set');
      assert.equal(store.synchronous(), level);
      await store.close();
    }
  });

  test('under FULL a write is answered, watched and read only once a WAL sync that began after its commit has ended, and one sync serves every commit made while the one before it ran', async () => {
    const syncs: Array<() => void> = [];
    const store = await openSqliteStore(dbPath(), {
      syncWal: () => new Promise<void>((resolve) => syncs.push(resolve)),
    });
    try {
      const seen: string[] = [];
      store.watch('VirtualMachine', {}, (e) => seen.push(e.object.metadata.name));
      const acked: string[] = [];
      const first = store.create(vm('a')).then((o) => acked.push(o.metadata.name));
      await until(() => syncs.length === 1);
      // Committed (another connection sees it) but not durable: not answered, not watched, not readable here.
      const other = new Database((store as unknown as { db: Database.Database }).db.name);
      assert.equal(
        other.prepare('SELECT count(*) FROM objects WHERE kind = ?').pluck().get('VirtualMachine'),
        1,
      );
      other.close();
      let read: KubeObject | undefined;
      const reading = store
        .get({ kind: 'VirtualMachine', namespace: 'default', name: 'a' })
        .then((o) => (read = o));
      // Two more commits while the first sync runs: they wait for one second sync, not one each.
      const later = Promise.all([store.create(vm('b')), store.create(vm('c'))]).then((os) =>
        acked.push(...os.map((o) => o.metadata.name)),
      );
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      assert.deepEqual([acked, seen, read], [[], [], undefined]);
      syncs.shift()!();
      await first;
      await reading;
      assert.deepEqual(acked, ['a']);
      assert.deepEqual(seen, ['a']);
      assert.equal(read?.metadata.name, 'a');
      await until(() => syncs.length === 1);
      syncs.shift()!();
      await later;
      assert.deepEqual(acked, ['a', 'b', 'c']);
      assert.deepEqual(seen, ['a', 'b', 'c']);
      assert.equal(syncs.length, 0);
    } finally {
      const closing = store.close();
      for (const release of syncs.splice(0)) release();
      await closing;
    }
  });

  test('a watch opened while a commit awaits its WAL sync gets that change once, when it is durable', async () => {
    const syncs: Array<() => void> = [];
    const store = await openSqliteStore(dbPath(), {
      syncWal: () => new Promise<void>((resolve) => syncs.push(resolve)),
    });
    try {
      const created = store.create(vm('a'));
      await until(() => syncs.length === 1);
      const fromNow: string[] = [];
      const fromZero: string[] = [];
      store.watch('VirtualMachine', {}, (e) => fromNow.push(`${e.type} ${e.object.metadata.name}`));
      store.watch('VirtualMachine', { sinceResourceVersion: '0' }, (e) =>
        fromZero.push(`${e.type} ${e.object.metadata.name}`),
      );
      await new Promise((r) => setImmediate(r));
      assert.deepEqual([fromNow, fromZero], [[], []]);
      syncs.shift()!();
      await created;
      assert.deepEqual([fromNow, fromZero], [['ADDED a'], ['ADDED a']]);
    } finally {
      const closing = store.close();
      for (const release of syncs.splice(0)) release();
      await closing;
    }
  });

  test('a failed WAL sync fails the writes that waited on it; the next sync serves later writes', async () => {
    let fail = true;
    const store = await openSqliteStore(dbPath(), {
      syncWal: async () => {
        if (fail) {
          fail = false;
          throw new Error('EIO: the disk failed');
        }
      },
    });
    try {
      await assert.rejects(store.create(vm('a')), /EIO/);
      assert.equal((await store.create(vm('b'))).metadata.name, 'b');
    } finally {
      await store.close();
    }
  });

  test('live events reach listeners before the write’s promise resolves', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      const seen: string[] = [];
      store.watch('VirtualMachine', {}, (e) => seen.push(e.object.metadata.name));
      await store.create(vm('a'));
      assert.deepEqual(seen, ['a']);
    } finally {
      await store.close();
    }
  });

  test('a listener that writes sees its own change after the one it is handling, and so does every other listener', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      const first: string[] = [];
      const second: string[] = [];
      store.watch('VirtualMachine', {}, (e) => {
        first.push(`${e.type} ${e.object.metadata.name}`);
        if (e.type === 'ADDED' && e.object.metadata.name === 'a')
          void store.create(vm('from-listener'));
      });
      store.watch('VirtualMachine', {}, (e) => second.push(`${e.type} ${e.object.metadata.name}`));
      await store.create(vm('a'));
      await store.create(vm('b'));
      const expected = ['ADDED a', 'ADDED from-listener', 'ADDED b'];
      assert.deepEqual(first, expected);
      assert.deepEqual(second, expected);
    } finally {
      await store.close();
    }
  });

  test('a listener that throws fails neither the write nor the other listeners', async () => {
    const failures: unknown[] = [];
    const store = await openSqliteStore(':memory:', {
      onListenerError: (error) => failures.push(error),
    });
    try {
      const others: WatchEvent[] = [];
      store.watch('VirtualMachine', {}, () => {
        throw new Error('listener bug');
      });
      store.watch('VirtualMachine', {}, (e) => others.push(e));
      const a = await store.create(vm('a'));
      assert.equal(a.metadata.name, 'a');
      assert.equal(others.length, 1);
      assert.equal(failures.length, 1);
      assert.match(String(failures[0]), /listener bug/);
    } finally {
      await store.close();
    }
  });

  test('a watch from a resourceVersion ahead of the store delivers only changes after it', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      const seen: string[] = [];
      store.watch('VirtualMachine', { sinceResourceVersion: '2' }, (e) =>
        seen.push(e.object.metadata.name),
      );
      for (const name of ['a', 'b', 'c']) await store.create(vm(name));
      assert.deepEqual(seen, ['c']);
      assert.throws(
        () => store.watch('VirtualMachine', { sinceResourceVersion: 'abc' }, () => undefined),
        /decimal revision/,
      );
    } finally {
      await store.close();
    }
  });

  test('a closed store rejects calls', async () => {
    const store = await openSqliteStore(':memory:');
    await store.close();
    await store.close();
    await rejectsWith(
      store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'a' }),
      'ServiceUnavailable',
    );
    await rejectsWith(store.create(vm('a')), 'ServiceUnavailable');
    assert.throws(() => store.watch('VirtualMachine', {}, () => undefined), /closed/);
  });

  test('a database written by a newer schema is refused, not guessed at', async () => {
    const path = dbPath();
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    await assert.rejects(openSqliteStore(path), /schema version 99 is newer/);
  });
});
