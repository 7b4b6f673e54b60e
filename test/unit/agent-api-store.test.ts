// The API-backed ResourceStore against a real apiserver on loopback, and the node-scoped view of a store.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiStore } from '../../src/agent/api-store.ts';
import { NodeView } from '../../src/store/node-view.ts';
import { staticTokenAuthenticator } from '../../src/apiserver/auth.ts';
import { createApiServer } from '../../src/apiserver/server.ts';
import { HarrowClient } from '../../src/client/client.ts';
import { AlreadyExists, Conflict, NotFound } from '../../src/resources/errors.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';
import type { WatchEvent } from '../../src/store/types.ts';

const TOKEN = 'agent-test-token-0123456789';

const pod = (name: string, nodeName: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels: { app: 'x' } },
  spec: { nodeName, containers: [{ name: 'compute', image: 'harrow/virt-launcher' }] },
  status: { phase: 'Pending' },
});

async function until<T>(probe: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('ApiStore over a real apiserver', () => {
  let db: SqliteStore;
  let close: () => Promise<void>;
  let store: ApiStore;

  before(async () => {
    db = await openSqliteStore(':memory:');
    await db.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    const app = await createApiServer({
      store: db,
      admission: [],
      authenticator: staticTokenAuthenticator([
        { token: TOKEN, user: { name: 'agent', groups: ['system:masters'] } },
      ]),
      logger: false,
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    store = new ApiStore(new HarrowClient({ server: url, token: TOKEN }), { reconnectMs: 50 });
    close = async () => {
      await store.close();
      await app.close();
      await db.close();
    };
  });
  after(() => close());

  it('creates with status, reads, updates object and status together, and maps errors to store errors', async () => {
    const created = await store.create(pod('p1', 'n1'));
    assert.equal(
      (created.status as { phase?: string }).phase,
      'Pending',
      'the status of a new object is written (the API drops it on create)',
    );
    assert.ok(created.metadata.uid);
    await assert.rejects(store.create(pod('p1', 'n1')), AlreadyExists);
    const next = structuredClone(created);
    next.metadata.annotations = { a: 'b' };
    next.status = { phase: 'Running' };
    const updated = await store.update(next);
    assert.equal(updated.metadata.annotations?.a, 'b');
    assert.equal((updated.status as { phase?: string }).phase, 'Running');
    const stored = await db.get({ kind: 'Pod', namespace: 'default', name: 'p1' });
    assert.equal(
      (stored?.status as { phase?: string }).phase,
      'Running',
      'the database has both writes',
    );
    assert.equal(stored?.metadata.annotations?.a, 'b');
    await assert.rejects(
      store.update({
        ...next,
        metadata: { ...next.metadata, resourceVersion: created.metadata.resourceVersion },
      }),
      Conflict,
    );
    assert.equal(await store.get({ kind: 'Pod', namespace: 'default', name: 'absent' }), undefined);
    await assert.rejects(
      store.delete({ kind: 'Pod', namespace: 'default', name: 'absent' }),
      NotFound,
    );
    await assert.rejects(
      store.commit([
        { type: 'create', object: pod('a', 'n') },
        { type: 'create', object: pod('b', 'n') },
      ]),
      /atomically/,
    );
  });

  it('lists with a filter across pages and watches from a resourceVersion', async () => {
    for (let i = 0; i < 5; i++) await store.create(pod(`w${i}`, i % 2 === 0 ? 'n1' : 'n2'));
    const filtered = await store.list('Pod', {
      filter: (o) => (o.spec as { nodeName?: string }).nodeName === 'n2',
    });
    assert.deepEqual(filtered.items.map((o) => o.metadata.name).sort(), ['w1', 'w3']);
    const since = await store.currentResourceVersion();
    const events: WatchEvent[] = [];
    const handle = store.watch('Pod', { sinceResourceVersion: since }, (e) => events.push(e));
    await store.create(pod('later', 'n1'));
    await until(() => events.find((e) => e.object.metadata.name === 'later'), 'ADDED later');
    await store.delete({ kind: 'Pod', namespace: 'default', name: 'w0' });
    const deleted = await until(() => events.find((e) => e.type === 'DELETED'), 'DELETED w0');
    assert.equal(deleted.object.metadata.name, 'w0');
    handle.stop();
  });

  it('moves on to the next replica when one does not answer', async () => {
    const dead = new HarrowClient({
      server: 'http://127.0.0.1:9',
      token: TOKEN,
      requestTimeoutMs: 2000,
    });
    const both = new ApiStore([dead, store.client]);
    const got = await both.get({ kind: 'Pod', namespace: 'default', name: 'p1' });
    assert.equal(got?.metadata.name, 'p1', 'answered by the live replica');
    assert.equal(both.client, store.client, 'and stays on it');
    await assert.rejects(
      new ApiStore(dead).get({ kind: 'Pod', namespace: 'default', name: 'p1' }),
      /cannot reach/,
    );
  });

  it('NodeView lists and watches only the pods of its node', async () => {
    const view = new NodeView(store, 'n2');
    const listed = await view.list('Pod');
    assert.ok(listed.items.length > 0);
    assert.ok(listed.items.every((o) => (o.spec as { nodeName?: string }).nodeName === 'n2'));
    const events: WatchEvent[] = [];
    const handle = view.watch('Pod', { sinceResourceVersion: listed.resourceVersion }, (e) =>
      events.push(e),
    );
    await db.create(pod('other-node', 'n1'));
    await db.create(pod('this-node', 'n2'));
    await until(() => events.find((e) => e.object.metadata.name === 'this-node'), 'this-node');
    assert.equal(
      events.find((e) => e.object.metadata.name === 'other-node'),
      undefined,
      'another node’s pod is not seen',
    );
    handle.stop();
  });
});
