// Lists: pagination, selectors, cluster-wide lists, and the raw-JSON fast path for large lists.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { WriteOp } from '../../src/store/types.ts';
import { VMS, startServer, vmManifest, type Harness, type Response } from './apiserver-harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const names = (items: KubeObject[]): string[] => items.map((o) => o.metadata.name);

describe('list', () => {
  it('pages with limit and continue, every page at the first page’s resourceVersion', async () => {
    h = await startServer();
    for (const n of ['a', 'b', 'c', 'd', 'e']) await h.request('POST', VMS, vmManifest(n));
    const seen: string[] = [];
    let token: string | undefined;
    const versions = new Set<string>();
    let pages = 0;
    do {
      const r: Response = await h.request(
        'GET',
        `${VMS}?limit=2${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
      );
      assert.equal(r.status, 200, r.body);
      assert.ok(r.json.items.length <= 2);
      seen.push(...names(r.json.items));
      versions.add(String(r.json.metadata.resourceVersion));
      token = r.json.metadata.continue as string | undefined;
      pages++;
      if (pages === 1) await h.request('POST', VMS, vmManifest('z-late'));
    } while (token);
    assert.equal(pages, 3);
    assert.equal(versions.size, 1);
    assert.deepEqual(seen.slice(0, 5), ['a', 'b', 'c', 'd', 'e']);
  });

  it('caps limit at maxListLimit', async () => {
    h = await startServer({ limits: { maxListLimit: 2 } });
    for (const n of ['a', 'b', 'c']) await h.request('POST', VMS, vmManifest(n));
    const r = await h.request('GET', `${VMS}?limit=100`);
    assert.equal(r.json.items.length, 2);
    assert.ok(r.json.metadata.continue);
  });

  it('filters by label and field selectors, also across namespaces', async () => {
    h = await startServer();
    await h.request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team' },
    });
    await h.request('POST', VMS, vmManifest('web-1'));
    await h.request('POST', VMS, {
      ...vmManifest('db-1'),
      metadata: { name: 'db-1', labels: { app: 'db' } },
    });
    await h.request(
      'POST',
      '/apis/kubevirt.io/v1/namespaces/team/virtualmachines',
      vmManifest('web-2'),
    );
    assert.deepEqual(names((await h.request('GET', `${VMS}?labelSelector=app%3Dweb`)).json.items), [
      'web-1',
    ]);
    assert.deepEqual(
      names((await h.request('GET', `${VMS}?labelSelector=app%20notin%20(web)`)).json.items),
      ['db-1'],
    );
    assert.deepEqual(
      names(
        (await h.request('GET', '/apis/kubevirt.io/v1/virtualmachines?labelSelector=app%3Dweb'))
          .json.items,
      ).sort(),
      ['web-1', 'web-2'],
    );
    assert.deepEqual(
      names(
        (
          await h.request(
            'GET',
            '/apis/kubevirt.io/v1/virtualmachines?fieldSelector=metadata.namespace%3Dteam',
          )
        ).json.items,
      ),
      ['web-2'],
    );
    assert.deepEqual(
      names((await h.request('GET', `${VMS}?fieldSelector=metadata.name!%3Dweb-1`)).json.items),
      ['db-1'],
    );
    const paged = await h.request(
      'GET',
      '/apis/kubevirt.io/v1/virtualmachines?labelSelector=app%3Dweb&limit=1',
    );
    assert.equal(paged.json.items.length, 1, 'items the selector skips do not count towards limit');
    assert.ok(paged.json.metadata.continue);
  });

  it('lists events by involved object', async () => {
    h = await startServer();
    const event = (name: string, vm: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: 'default' },
      involvedObject: { kind: 'VirtualMachine', namespace: 'default', name: vm },
      reason: 'Started',
      message: 'started',
      type: 'Normal',
    });
    await h.store.create(event('e1', 'web'));
    await h.store.create(event('e2', 'db'));
    const r = await h.request(
      'GET',
      '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dweb,involvedObject.kind%3DVirtualMachine',
    );
    assert.deepEqual(names(r.json.items), ['e1']);
  });

  it('answers an unfiltered list from the stored JSON text, with the same shape as a parsed one', async () => {
    h = await startServer();
    const calls: string[] = [];
    const store = h.store;
    const listEncoded = store.listEncoded.bind(store);
    const list = store.list.bind(store);
    store.listEncoded = async (kind, options) => {
      calls.push('listEncoded');
      return listEncoded(kind, options);
    };
    store.list = async (kind, options) => {
      calls.push('list');
      return list(kind, options);
    };
    await h.request('POST', VMS, vmManifest('web'));
    calls.length = 0;
    const raw = await h.request('GET', VMS);
    assert.deepEqual(calls, ['listEncoded']);
    const parsed = await h.request('GET', `${VMS}?fieldSelector=metadata.namespace%3Ddefault`);
    assert.deepEqual(calls, ['listEncoded', 'list']);
    assert.deepEqual(raw.json, parsed.json);
    assert.match(String(raw.headers['content-type']), /^application\/json/);
  });

  it('answers a label-selected list from the stored JSON too, as the parsed list would', async () => {
    h = await startServer();
    const calls: string[] = [];
    const store = h.store;
    const listEncoded = store.listEncoded.bind(store);
    store.listEncoded = async (kind, options) => {
      calls.push('listEncoded');
      return listEncoded(kind, options);
    };
    const mismatch = { 'harrow.io/guest-mac-mismatch': 'true' };
    for (const n of ['a', 'b', 'c', 'd']) {
      const vm = vmManifest(n);
      if (n === 'b' || n === 'd') vm.metadata.labels = mismatch;
      await h.request('POST', VMS, vm);
    }
    const selector = 'labelSelector=harrow.io%2Fguest-mac-mismatch%3Dtrue';
    calls.length = 0;
    const selected = await h.request('GET', `${VMS}?${selector}`);
    assert.equal(selected.status, 200, selected.body);
    assert.deepEqual(calls, ['listEncoded']);
    assert.deepEqual(names(selected.json.items), ['b', 'd']);
    // The same selection through the parsing path (a field selector that keeps every object forces it).
    const parsed = await h.request(
      'GET',
      `${VMS}?${selector}&fieldSelector=metadata.namespace%3Ddefault`,
    );
    assert.deepEqual(selected.json, parsed.json);
    const paged = await h.request('GET', `${VMS}?${selector}&limit=1`);
    assert.deepEqual(names(paged.json.items), ['b']);
    const rest = await h.request(
      'GET',
      `${VMS}?${selector}&limit=1&continue=${encodeURIComponent(String(paged.json.metadata.continue))}`,
    );
    assert.deepEqual(names(rest.json.items), ['d']);
    assert.equal(rest.json.metadata.continue, undefined);
    assert.equal(rest.json.metadata.resourceVersion, paged.json.metadata.resourceVersion);
  });

  it('lists 10,000 VMs', async (t) => {
    h = await startServer();
    const ops: WriteOp[] = [];
    for (let i = 0; i < 10_000; i++) {
      const vm = vmManifest(`vm-${String(i).padStart(5, '0')}`);
      vm.metadata.namespace = 'default';
      ops.push({ type: 'create', object: vm });
    }
    await h.store.commit(ops);
    await h.request('GET', `${VMS}?limit=1`); // warm-up: compiled routes and statements
    const started = process.hrtime.bigint();
    const r = await h.request('GET', VMS);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(r.status, 200);
    assert.equal(r.json.items.length, 10_000);
    assert.equal(r.json.items[9_999]?.metadata.name, 'vm-09999');
    t.diagnostic(
      `listing 10,000 VMs (${(r.body.length / 1e6).toFixed(1)} MB) took ${ms.toFixed(0)} ms`,
    );
  });
});
