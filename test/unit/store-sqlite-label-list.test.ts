// The SQLite store's label-selected lists: answered from the labels the list cache keeps beside each object's JSON,
// exactly as a filter over the parsed objects would answer, through creates, updates, deletes, paging and a reopen.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { LabelsFilter } from '../../src/store/types.ts';
import {
  openSqliteStore,
  type SqliteListOptions,
  type SqliteStore,
} from '../../src/store/sqlite/store.ts';
import { vm } from './store-contract.ts';

const DRIFTED = 'harrow.io/guest-mac-mismatch';
const drifted: LabelsFilter = (l) => l[DRIFTED] === 'true';

const labelled = (name: string, namespace = 'default'): KubeObject => {
  const o = vm(name, namespace);
  o.metadata.labels = { [DRIFTED]: 'true', app: 'web' };
  return o;
};

/** The names a label-selected list gives, and those the same selection gives as a filter over parsed objects. */
async function bothWays(
  store: SqliteStore,
  options: SqliteListOptions = {},
): Promise<{ selected: string[]; filtered: string[]; resourceVersion: string }> {
  const encoded = await store.listEncoded('VirtualMachine', { ...options, labels: drifted });
  const items = JSON.parse(`[${encoded.items.toString('utf8')}]`) as KubeObject[];
  const reference = await store.list('VirtualMachine', {
    ...options,
    filter: (o) => o.metadata.labels?.[DRIFTED] === 'true',
  });
  assert.equal(encoded.resourceVersion, reference.resourceVersion);
  assert.deepEqual(items, reference.items, 'the same objects, bytes for bytes, as the parsed list');
  return {
    selected: items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
    filtered: reference.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
    resourceVersion: encoded.resourceVersion,
  };
}

/** How many times JSON.parse runs during `work`. */
async function parsesDuring(work: () => Promise<unknown>): Promise<number> {
  const parse = JSON.parse;
  let calls = 0;
  JSON.parse = ((...args: Parameters<typeof JSON.parse>) => {
    calls++;
    return parse(...args);
  }) as typeof JSON.parse;
  try {
    await work();
  } finally {
    JSON.parse = parse;
  }
  return calls;
}

describe('SQLite label-selected lists', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'harrow-label-list-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('return exactly the labelled objects, also after updates and deletes', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      for (let i = 0; i < 20; i++)
        await store.create(i % 5 === 0 ? labelled(`vm-${i}`) : vm(`vm-${i}`));
      await store.create(labelled('vm-x', 'team'));
      let r = await bothWays(store);
      assert.deepEqual(r.selected, [
        'default/vm-0',
        'default/vm-10',
        'default/vm-15',
        'default/vm-5',
        'team/vm-x',
      ]);
      assert.deepEqual(r.selected, r.filtered);
      assert.deepEqual((await bothWays(store, { namespace: 'team' })).selected, ['team/vm-x']);

      // The label comes (vm-3), goes (vm-5), the object is deleted (vm-10), changes without its labels (vm-0).
      const vm3 = (await store.get({
        kind: 'VirtualMachine',
        namespace: 'default',
        name: 'vm-3',
      }))!;
      vm3.metadata.labels = { [DRIFTED]: 'true' };
      await store.update(vm3);
      const vm5 = (await store.get({
        kind: 'VirtualMachine',
        namespace: 'default',
        name: 'vm-5',
      }))!;
      delete vm5.metadata.labels![DRIFTED];
      await store.update(vm5);
      await store.delete({ kind: 'VirtualMachine', namespace: 'default', name: 'vm-10' });
      const vm0 = (await store.get({
        kind: 'VirtualMachine',
        namespace: 'default',
        name: 'vm-0',
      }))!;
      await store.update({ ...vm0, spec: { runStrategy: 'Always' } });
      r = await bothWays(store);
      assert.deepEqual(r.selected, ['default/vm-0', 'default/vm-15', 'default/vm-3', 'team/vm-x']);
      assert.equal(r.resourceVersion, await store.currentResourceVersion());

      // A caller that changes the object it wrote afterwards does not change what the cache holds.
      const written = labelled('vm-late');
      await store.create(written);
      written.metadata.labels![DRIFTED] = 'false';
      assert.ok((await bothWays(store)).selected.includes('default/vm-late'));
    } finally {
      await store.close();
    }
  });

  test('page with limit and continue over the selected objects only', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      for (let i = 0; i < 30; i++)
        await store.create(
          i % 3 === 0 ? labelled(`vm-${String(i).padStart(2, '0')}`) : vm(`u-${i}`),
        );
      const seen: string[] = [];
      let token: string | undefined;
      const versions = new Set<string>();
      let pages = 0;
      do {
        const page = await store.listEncoded('VirtualMachine', {
          limit: 4,
          labels: drifted,
          ...(token ? { continue: token } : {}),
        });
        const items = JSON.parse(`[${page.items.toString('utf8')}]`) as KubeObject[];
        assert.ok(items.length <= 4);
        seen.push(...items.map((o) => o.metadata.name));
        versions.add(page.resourceVersion);
        token = page.continue;
        if (pages++ === 0) await store.create(labelled('vm-99'));
      } while (token);
      assert.equal(versions.size, 1, 'every page at the first page’s resourceVersion');
      assert.deepEqual(
        seen,
        ['00', '03', '06', '09', '12', '15', '18', '21', '24', '27', '99'].map((n) => `vm-${n}`),
      );
      assert.equal(pages, 3);
    } finally {
      await store.close();
    }
  });

  test('parse no object once the labels are known: written ones at once, loaded ones at the first selection', async () => {
    const path = join(dir, 'parse.db');
    const s1 = await openSqliteStore(path);
    await s1.list('VirtualMachine'); // the kind is cached from here on, so each write below comes with its labels
    for (let i = 0; i < 200; i++)
      await s1.create(i % 50 === 0 ? labelled(`vm-${i}`) : vm(`vm-${i}`));
    await s1.create(labelled('vm-new'));
    const select = () => s1.listEncoded('VirtualMachine', { labels: drifted });
    assert.equal(await parsesDuring(select), 0);
    assert.equal((await select()).items.toString('utf8').split('"name":"vm-').length - 1, 5);
    await s1.close();

    // Reopened, the cache loads the JSON only; the first selection reads each object's labels once.
    const s2 = await openSqliteStore(path);
    try {
      const select2 = () => s2.listEncoded('VirtualMachine', { labels: drifted });
      assert.equal(await parsesDuring(select2), 201);
      assert.equal(await parsesDuring(select2), 0);
    } finally {
      await s2.close();
    }
  });

  test('select on a kind read from the table (Event) by the parsed labels', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      const event = (name: string, labels?: Record<string, string>): KubeObject => ({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) },
      });
      await store.create(event('a', { [DRIFTED]: 'true' }));
      await store.create(event('b'));
      const r = await store.listEncoded('Event', { labels: drifted });
      const items = JSON.parse(`[${r.items.toString('utf8')}]`) as KubeObject[];
      assert.deepEqual(
        items.map((o) => o.metadata.name),
        ['a'],
      );
    } finally {
      await store.close();
    }
  });
});
