// The ResourceStore contract as a reusable node:test suite: every store (SQLite, etcd) registers it and must pass it unchanged.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HarrowError } from '../../src/resources/errors.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import type {
  ResourceStore,
  WatchEvent,
  WatchHandle,
  WatchOptions,
} from '../../src/store/types.ts';

export interface StoreUnderTest {
  store: ResourceStore;
  /** Closes the store and removes whatever open() created. */
  cleanup: () => Promise<void>;
  /** Discards the change history up to the current revision (etcd: compact), so older resourceVersions expire. */
  compact: () => Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KUBE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const WATCH_TIMEOUT_MS = 5000;

export function vm(
  name: string,
  namespace = 'default',
  spec: Record<string, unknown> = { runStrategy: 'Halted' },
): KubeObject {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace },
    spec,
  };
}

export function pool(name: string): KubeObject {
  return {
    apiVersion: 'harrow.io/v1',
    kind: 'MacPool',
    metadata: { name },
    spec: { ranges: [{ start: '02:00:00:00:00:01', end: '02:00:00:00:ff:ff' }] },
  };
}

// Every assert.ok carries a message: without one, a failing assert.ok under tsx can hang while Node re-reads the source.
const rv = (o: KubeObject): bigint => BigInt(o.metadata.resourceVersion ?? 'x');

/** Asserts that `promise` rejects with a HarrowError of `reason`, returning it for further checks. */
export async function rejectsWith(promise: Promise<unknown>, reason: string): Promise<HarrowError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(
      error instanceof HarrowError,
      `expected a HarrowError ${reason}, got ${String(error)}`,
    );
    assert.equal(error.reason, reason, error.message);
    return error;
  }
  assert.fail(`expected ${reason}, but it succeeded`);
}

function throwsWith(fn: () => unknown, reason: string): HarrowError {
  try {
    fn();
  } catch (error) {
    assert.ok(
      error instanceof HarrowError,
      `expected a HarrowError ${reason}, got ${String(error)}`,
    );
    assert.equal(error.reason, reason, error.message);
    return error;
  }
  assert.fail(`expected ${reason}, but it succeeded`);
}

/** Collects a watch's events; `until` waits for a predicate on them (delivery may be asynchronous on some stores). */
export class Recorder {
  readonly events: WatchEvent[] = [];
  readonly handle: WatchHandle;
  private wake: (() => void) | undefined;

  constructor(store: ResourceStore, kind: string, options: WatchOptions = {}) {
    this.handle = store.watch(kind, options, (e) => {
      this.events.push(e);
      this.wake?.();
    });
  }

  async until(done: (events: WatchEvent[]) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WATCH_TIMEOUT_MS;
    while (!done(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0)
        assert.fail(`timed out waiting for ${what}; got ${JSON.stringify(this.summary())}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Writes a sentinel of the watched kind and waits for it: everything delivered before it is then in `events`. */
  async settle(store: ResourceStore, sentinel: KubeObject): Promise<WatchEvent[]> {
    const created = await store.create(sentinel);
    await this.until(
      (es) => es.some((e) => e.object.metadata.uid === created.metadata.uid),
      'the sentinel',
    );
    return this.events.filter((e) => e.object.metadata.uid !== created.metadata.uid);
  }

  summary(): string[] {
    return this.events.map(
      (e) =>
        `${e.type} ${e.object.metadata.namespace ?? ''}/${e.object.metadata.name}@${e.object.metadata.resourceVersion}`,
    );
  }
}

export function storeContract(name: string, open: () => Promise<StoreUnderTest>): void {
  const withStore = (fn: (s: StoreUnderTest) => Promise<void>) => async () => {
    const s = await open();
    try {
      await fn(s);
    } finally {
      await s.cleanup();
    }
  };

  describe(`ResourceStore contract: ${name}`, () => {
    test(
      'create assigns uid, creationTimestamp, generation 1 and a resourceVersion, and keeps every other field',
      withStore(async ({ store }) => {
        const before = Date.now();
        const input = vm('a', 'default', {
          runStrategy: 'Always',
          template: { spec: { domain: { devices: {} } } },
        });
        input.metadata.uid = 'chosen-by-client';
        input.metadata.resourceVersion = '12345';
        input.metadata.generation = 7;
        input.metadata.labels = { app: 'web' };
        input.unknownTopLevel = { kept: true };
        const created = await store.create(input);
        assert.match(created.metadata.uid ?? '', UUID);
        assert.notEqual(created.metadata.uid, 'chosen-by-client');
        assert.match(created.metadata.creationTimestamp ?? '', KUBE_TIME);
        const t = Date.parse(created.metadata.creationTimestamp ?? '');
        assert.ok(
          t >= Math.floor(before / 1000) * 1000 && t <= Date.now(),
          'creationTimestamp is now',
        );
        assert.equal(created.metadata.generation, 1);
        assert.match(created.metadata.resourceVersion ?? '', /^[1-9]\d*$/);
        assert.notEqual(created.metadata.resourceVersion, '12345');
        assert.deepEqual(created.spec, input.spec);
        assert.deepEqual(created.metadata.labels, { app: 'web' });
        assert.deepEqual(created.unknownTopLevel, { kept: true });
        assert.deepEqual(
          await store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'a' }),
          created,
        );
        assert.equal(
          await store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'b' }),
          undefined,
        );
      }),
    );

    test(
      'generateName appends 5 random characters when the name is empty',
      withStore(async ({ store }) => {
        const names = new Set<string>();
        for (let i = 0; i < 5; i++) {
          const o = vm('');
          o.metadata.generateName = 'web-';
          const created = await store.create(o);
          assert.match(created.metadata.name, /^web-[a-z0-9]{5}$/);
          assert.ok(
            await store.get({
              kind: 'VirtualMachine',
              namespace: 'default',
              name: created.metadata.name,
            }),
            'the generated name is stored',
          );
          names.add(created.metadata.name);
        }
        assert.equal(names.size, 5);
        await rejectsWith(store.create(vm('')), 'Invalid');
      }),
    );

    test(
      'create of an existing name fails with AlreadyExists; namespaces and kinds are separate',
      withStore(async ({ store }) => {
        await store.create(vm('a', 'default'));
        const err = await rejectsWith(store.create(vm('a', 'default')), 'AlreadyExists');
        assert.equal(err.code, 409);
        assert.match(err.message, /^virtualmachines(\.kubevirt\.io)? "a" already exists$/);
        await store.create(vm('a', 'other'));
        await store.create({
          ...vm('a', 'default'),
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachineInstance',
        });
        await store.create(pool('a'));
        await rejectsWith(store.create(pool('a')), 'AlreadyExists');
      }),
    );

    test(
      'cluster-scoped objects carry no namespace',
      withStore(async ({ store }) => {
        const created = await store.create(pool('p'));
        assert.equal('namespace' in created.metadata, false);
        const got = await store.get({ kind: 'MacPool', name: 'p' });
        assert.equal(got?.metadata.name, 'p');
        assert.equal('namespace' in (got?.metadata ?? {}), false);
      }),
    );

    test(
      'resourceVersion increases strictly across kinds and kinds of write',
      withStore(async ({ store }) => {
        const seen: bigint[] = [];
        const note = async (o: KubeObject) => {
          seen.push(rv(o));
          assert.ok(
            BigInt(await store.currentResourceVersion()) >= rv(o),
            'current revision covers the write',
          );
        };
        const start = BigInt(await store.currentResourceVersion());
        const a = await store.create(vm('a'));
        await note(a);
        await note(await store.create(pool('p')));
        await note(await store.update({ ...a, spec: { runStrategy: 'Always' } }));
        await note(
          await store.create({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'pod', namespace: 'default' },
          }),
        );
        await note(await store.delete({ kind: 'MacPool', name: 'p' }));
        const batch = await store.commit([
          { type: 'create', object: vm('b') },
          { type: 'create', object: pool('q') },
        ]);
        for (const o of batch) await note(o);
        assert.ok((seen[0] ?? 0n) > start, `first write ${seen[0]} > revision before ${start}`);
        for (let i = 1; i < seen.length; i++) {
          const prev = seen[i - 1] ?? 0n;
          const cur = seen[i] ?? 0n;
          // Writes of one batch may share a revision (etcd); separate writes never do.
          if (i === seen.length - 1) assert.ok(cur >= prev, `batch rv ${cur} >= ${prev}`);
          else assert.ok(cur > prev, `rv ${cur} > ${prev}`);
        }
      }),
    );

    test(
      'update with a stale resourceVersion fails with Conflict and changes nothing',
      withStore(async ({ store }) => {
        const v1 = await store.create(vm('a'));
        const v2 = await store.update({ ...v1, spec: { runStrategy: 'Always' } });
        assert.ok(rv(v2) > rv(v1), `update rv ${rv(v2)} > ${rv(v1)}`);
        const err = await rejectsWith(
          store.update({ ...v1, spec: { runStrategy: 'Manual' } }),
          'Conflict',
        );
        assert.equal(err.code, 409);
        assert.match(
          err.message,
          /the object has been modified; please apply your changes to the latest version and try again/,
        );
        assert.deepEqual(
          await store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'a' }),
          v2,
        );
        const v3 = await store.update({ ...v2, spec: { runStrategy: 'Manual' } });
        assert.deepEqual((v3.spec as { runStrategy: string }).runStrategy, 'Manual');
      }),
    );

    test(
      'update without resourceVersion replaces; uid and creationTimestamp stay those stored',
      withStore(async ({ store }) => {
        const v1 = await store.create(vm('a'));
        const replacement = vm('a', 'default', { runStrategy: 'Always' });
        replacement.metadata.uid = 'forged';
        replacement.metadata.creationTimestamp = '2000-01-01T00:00:00Z';
        replacement.metadata.annotations = { note: 'x' };
        const v2 = await store.update(replacement);
        assert.equal(v2.metadata.uid, v1.metadata.uid);
        assert.equal(v2.metadata.creationTimestamp, v1.metadata.creationTimestamp);
        assert.deepEqual(v2.metadata.annotations, { note: 'x' });
        assert.deepEqual(v2.spec, { runStrategy: 'Always' });
        assert.ok(rv(v2) > rv(v1), `update rv ${rv(v2)} > ${rv(v1)}`);
      }),
    );

    test(
      'generation is bumped by spec changes only',
      withStore(async ({ store }) => {
        const spec = {
          runStrategy: 'Halted',
          template: { spec: { domain: { cpu: { cores: 1 }, devices: {} } } },
        };
        let o = await store.create(vm('a', 'default', spec));
        assert.equal(o.metadata.generation, 1);
        o = await store.update({ ...o, status: { printableStatus: 'Stopped' } });
        assert.equal(o.metadata.generation, 1, 'status change');
        o = await store.update({ ...o, metadata: { ...o.metadata, labels: { a: 'b' } } });
        assert.equal(o.metadata.generation, 1, 'label change');
        // Same spec with keys in another order is the same spec.
        o = await store.update({
          ...o,
          spec: {
            template: { spec: { domain: { devices: {}, cpu: { cores: 1 } } } },
            runStrategy: 'Halted',
          },
        });
        assert.equal(o.metadata.generation, 1, 'reordered spec');
        o = await store.update({ ...o, metadata: { ...o.metadata, generation: 40 } });
        assert.equal(o.metadata.generation, 1, 'client-set generation is ignored');
        o = await store.update({ ...o, spec: { ...spec, runStrategy: 'Always' } });
        assert.equal(o.metadata.generation, 2, 'spec change');
        o = await store.update({ ...o, spec: { ...spec, runStrategy: 'Halted' } });
        assert.equal(o.metadata.generation, 3, 'second spec change');
      }),
    );

    test(
      'update and delete of an absent object fail with NotFound',
      withStore(async ({ store }) => {
        const u = await rejectsWith(store.update(vm('ghost')), 'NotFound');
        assert.equal(u.code, 404);
        assert.match(u.message, /"ghost" not found/);
        await rejectsWith(
          store.delete({ kind: 'VirtualMachine', namespace: 'default', name: 'ghost' }),
          'NotFound',
        );
        await store.create(vm('real', 'ns1'));
        await rejectsWith(
          store.delete({ kind: 'VirtualMachine', namespace: 'ns2', name: 'real' }),
          'NotFound',
        );
      }),
    );

    test(
      'delete returns the last state with the deletion’s resourceVersion and honours a resourceVersion precondition',
      withStore(async ({ store }) => {
        const v1 = await store.create(vm('a'));
        const v2 = await store.update({ ...v1, spec: { runStrategy: 'Always' } });
        const ref = { kind: 'VirtualMachine', namespace: 'default', name: 'a' };
        const err = await rejectsWith(store.delete(ref, v1.metadata.resourceVersion), 'Conflict');
        assert.equal(err.code, 409);
        assert.ok(await store.get(ref), 'a failed delete leaves the object');
        const gone = await store.delete(ref, v2.metadata.resourceVersion);
        assert.equal(gone.metadata.uid, v1.metadata.uid);
        assert.deepEqual(gone.spec, { runStrategy: 'Always' });
        assert.ok(rv(gone) > rv(v2), `deletion rv ${rv(gone)} > ${rv(v2)}`);
        assert.equal(BigInt(await store.currentResourceVersion()) >= rv(gone), true);
        assert.equal(await store.get(ref), undefined);
        // The name is free again, for a new object with a new uid.
        const again = await store.create(vm('a'));
        assert.notEqual(again.metadata.uid, v1.metadata.uid);
      }),
    );

    test(
      'a batch applies in order: later writes see earlier ones, events follow the same order',
      withStore(async ({ store }) => {
        await store.create(vm('old'));
        const rec = new Recorder(store, 'VirtualMachine');
        const a = vm('a');
        const out = await store.commit([
          { type: 'create', object: a },
          { type: 'update', object: { ...a, spec: { runStrategy: 'Always' } } },
          { type: 'delete', ref: { kind: 'VirtualMachine', namespace: 'default', name: 'old' } },
        ]);
        assert.equal(out.length, 3);
        assert.equal(out[1]?.metadata.generation, 2);
        assert.equal(out[1]?.metadata.uid, out[0]?.metadata.uid);
        assert.equal(out[2]?.metadata.name, 'old');
        const events = await rec.settle(store, vm('sentinel'));
        rec.handle.stop();
        assert.deepEqual(
          events.map((e) => `${e.type} ${e.object.metadata.name}`),
          ['ADDED a', 'MODIFIED a', 'DELETED old'],
        );
        assert.deepEqual(
          await store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'a' }),
          out[1],
        );
      }),
    );

    const failingThirdOps = [
      {
        why: 'create of an existing name',
        op: () => ({ type: 'create' as const, object: vm('x') }),
        reason: 'AlreadyExists',
      },
      {
        why: 'update with a stale resourceVersion',
        op: () => ({
          type: 'update' as const,
          object: {
            ...vm('x'),
            metadata: { name: 'x', namespace: 'default', resourceVersion: '1' },
          },
        }),
        reason: 'Conflict',
      },
      {
        why: 'delete of an absent object',
        op: () => ({
          type: 'delete' as const,
          ref: { kind: 'VirtualMachine', namespace: 'default', name: 'nope' },
        }),
        reason: 'NotFound',
      },
    ];
    for (const failing of failingThirdOps) {
      test(
        `a batch whose third write fails (${failing.why}) leaves nothing behind`,
        withStore(async ({ store }) => {
          await store.create(vm('filler-1'));
          await store.create(vm('filler-2'));
          const x = await store.create(vm('x'));
          const before = await store.currentResourceVersion();
          const rec = new Recorder(store, 'VirtualMachine');
          await rejectsWith(
            store.commit([
              { type: 'create', object: vm('new') },
              { type: 'update', object: { ...x, spec: { runStrategy: 'Always' } } },
              failing.op(),
              { type: 'create', object: vm('after') },
            ]),
            failing.reason,
          );
          assert.equal(await store.currentResourceVersion(), before);
          assert.equal(
            await store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'new' }),
            undefined,
          );
          assert.equal(
            await store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'after' }),
            undefined,
          );
          assert.deepEqual(
            await store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'x' }),
            x,
          );
          const events = await rec.settle(store, vm('sentinel'));
          rec.handle.stop();
          assert.deepEqual(events, [], 'a rolled-back batch emits nothing');
        }),
      );
    }

    test(
      'watch delivers only its kind, in resourceVersion order',
      withStore(async ({ store }) => {
        const rec = new Recorder(store, 'VirtualMachine');
        const a = await store.create(vm('a'));
        await store.create(pool('p'));
        await store.create(vm('b', 'other'));
        await store.update({ ...a, spec: { runStrategy: 'Always' } });
        await store.commit([
          { type: 'create', object: vm('c') },
          { type: 'create', object: pool('q') },
          { type: 'delete', ref: { kind: 'VirtualMachine', namespace: 'other', name: 'b' } },
        ]);
        await store.delete({ kind: 'MacPool', name: 'p' });
        const events = await rec.settle(store, vm('sentinel'));
        rec.handle.stop();
        assert.deepEqual(
          events.map((e) => `${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name}`),
          [
            'ADDED default/a',
            'ADDED other/b',
            'MODIFIED default/a',
            'ADDED default/c',
            'DELETED other/b',
          ],
        );
        const rvs = events.map((e) => rv(e.object));
        for (let i = 1; i < rvs.length; i++) {
          // Events 3 and 4 come from one batch, which may share a revision (etcd: one Txn, one revision).
          if (i === 4)
            assert.ok((rvs[i] ?? 0n) >= (rvs[i - 1] ?? 0n), `${rec.summary().join(', ')}`);
          else assert.ok((rvs[i] ?? 0n) > (rvs[i - 1] ?? 0n), `${rec.summary().join(', ')}`);
        }
        assert.equal(events[1]?.object.metadata.uid, events[4]?.object.metadata.uid);
      }),
    );

    test(
      'watch scoped to a namespace sees only that namespace',
      withStore(async ({ store }) => {
        const rec = new Recorder(store, 'VirtualMachine', { namespace: 'blue' });
        await store.create(vm('a', 'red'));
        await store.create(vm('a', 'blue'));
        await store.create(vm('b', 'red'));
        await store.delete({ kind: 'VirtualMachine', namespace: 'red', name: 'a' });
        const events = await rec.settle(store, vm('sentinel', 'blue'));
        rec.handle.stop();
        assert.deepEqual(
          events.map((e) => `${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name}`),
          ['ADDED blue/a'],
        );
      }),
    );

    test(
      'watch from a resourceVersion replays the changes after it, then live ones',
      withStore(async ({ store }) => {
        const a = await store.create(vm('a'));
        await store.create(vm('b'));
        const from = await store.currentResourceVersion();
        await store.update({ ...a, spec: { runStrategy: 'Always' } });
        await store.create(pool('p'));
        await store.delete({ kind: 'VirtualMachine', namespace: 'default', name: 'b' });
        await store.create(vm('c', 'other'));
        const rec = new Recorder(store, 'VirtualMachine', { sinceResourceVersion: from });
        const scoped = new Recorder(store, 'VirtualMachine', {
          sinceResourceVersion: from,
          namespace: 'other',
        });
        await store.create(vm('d'));
        const events = await rec.settle(store, vm('sentinel'));
        rec.handle.stop();
        assert.deepEqual(
          events.map((e) => `${e.type} ${e.object.metadata.name}`),
          ['MODIFIED a', 'DELETED b', 'ADDED c', 'ADDED d'],
        );
        for (const e of events)
          assert.ok(rv(e.object) > BigInt(from), `replayed rv ${rv(e.object)} > ${from}`);
        await scoped.settle(store, vm('sentinel2', 'other'));
        scoped.handle.stop();
        assert.deepEqual(
          scoped.events.map((e) => `${e.type} ${e.object.metadata.name}`),
          ['ADDED c', 'ADDED sentinel2'],
        );
      }),
    );

    test(
      'a list followed by a watch from its resourceVersion misses nothing',
      withStore(async ({ store }) => {
        for (const n of ['a', 'b', 'c']) await store.create(vm(n));
        const listed = await store.list('VirtualMachine');
        assert.equal(listed.resourceVersion, await store.currentResourceVersion());
        const a = listed.items[0] as KubeObject;
        // Writes that land between the list and the watch must still reach the watcher.
        await store.update({ ...a, spec: { runStrategy: 'Always' } });
        await store.delete({ kind: 'VirtualMachine', namespace: 'default', name: 'c' });
        const rec = new Recorder(store, 'VirtualMachine', {
          sinceResourceVersion: listed.resourceVersion,
        });
        const events = await rec.settle(store, vm('sentinel'));
        rec.handle.stop();
        assert.deepEqual(
          events.map((e) => `${e.type} ${e.object.metadata.name}`),
          ['MODIFIED a', 'DELETED c'],
        );
      }),
    );

    test(
      'watch from a compacted resourceVersion fails with Expired',
      withStore(async ({ store, compact }) => {
        const first = await store.create(vm('a'));
        await store.create(vm('b'));
        await store.update({ ...first, spec: { runStrategy: 'Always' } });
        await compact();
        const err = throwsWith(
          () =>
            store.watch(
              'VirtualMachine',
              { sinceResourceVersion: first.metadata.resourceVersion },
              () => undefined,
            ),
          'Expired',
        );
        assert.equal(err.code, 410);
        const rec = new Recorder(store, 'VirtualMachine', {
          sinceResourceVersion: await store.currentResourceVersion(),
        });
        const events = await rec.settle(store, vm('sentinel'));
        rec.handle.stop();
        assert.deepEqual(events, []);
      }),
    );

    test(
      'stop() detaches a watcher',
      withStore(async ({ store }) => {
        const stopped: WatchEvent[] = [];
        const h = store.watch('VirtualMachine', {}, (e) => stopped.push(e));
        const rec = new Recorder(store, 'VirtualMachine');
        await store.create(vm('a'));
        await rec.until((es) => es.length === 1, 'the first event');
        h.stop();
        const before = stopped.length;
        await store.create(vm('b'));
        await rec.settle(store, vm('sentinel'));
        rec.handle.stop();
        assert.equal(stopped.length, before);
        assert.ok(before <= 1, `events before stop: ${before}`);
      }),
    );

    test(
      'list is sorted by namespace then name and scoped by namespace',
      withStore(async ({ store }) => {
        for (const [ns, n] of [
          ['b', 'y'],
          ['a', 'z'],
          ['b', 'a'],
          ['a', 'b'],
          ['c', 'm'],
        ] as const)
          await store.create(vm(n, ns));
        await store.create(pool('p1'));
        const all = await store.list('VirtualMachine');
        assert.deepEqual(
          all.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
          ['a/b', 'a/z', 'b/a', 'b/y', 'c/m'],
        );
        assert.equal(all.continue, undefined);
        assert.equal(all.resourceVersion, await store.currentResourceVersion());
        const b = await store.list('VirtualMachine', { namespace: 'b' });
        assert.deepEqual(
          b.items.map((o) => o.metadata.name),
          ['a', 'y'],
        );
        assert.deepEqual((await store.list('VirtualMachine', { namespace: 'none' })).items, []);
        assert.deepEqual(
          (await store.list('MacPool')).items.map((o) => o.metadata.name),
          ['p1'],
        );
        assert.deepEqual((await store.list('Pod')).items, []);
      }),
    );

    test(
      'list pages with limit and continue cover every object exactly once',
      withStore(async ({ store }) => {
        const expected: string[] = [];
        for (const ns of ['n1', 'n2', 'n3']) {
          for (let i = 0; i < 4; i++) {
            await store.create(vm(`vm-${i}`, ns));
            expected.push(`${ns}/vm-${i}`);
          }
        }
        for (const limit of [1, 3, 5, 12, 13]) {
          const seen: string[] = [];
          let token: string | undefined;
          let pages = 0;
          const first = await store.list('VirtualMachine', { limit });
          let page = first;
          for (;;) {
            pages++;
            assert.ok(
              page.items.length <= limit,
              `page of ${page.items.length} within limit ${limit}`,
            );
            assert.equal(
              page.resourceVersion,
              first.resourceVersion,
              'every page reports the first page’s revision',
            );
            seen.push(...page.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
            token = page.continue;
            if (token === undefined) break;
            assert.ok(pages <= expected.length, 'paging ends');
            assert.equal(page.items.length, limit, 'only full pages carry continue');
            page = await store.list('VirtualMachine', { limit, continue: token });
          }
          assert.deepEqual(seen, expected, `limit ${limit}`);
          assert.equal(
            pages,
            Math.max(1, Math.ceil(expected.length / limit)),
            `pages for limit ${limit}`,
          );
        }
        // Paging within one namespace, with a write between pages: the next page continues after the last key.
        const p1 = await store.list('VirtualMachine', { namespace: 'n2', limit: 2 });
        assert.deepEqual(
          p1.items.map((o) => o.metadata.name),
          ['vm-0', 'vm-1'],
        );
        await store.delete({ kind: 'VirtualMachine', namespace: 'n2', name: 'vm-2' });
        const p2 = await store.list('VirtualMachine', {
          namespace: 'n2',
          limit: 2,
          continue: p1.continue,
        });
        assert.deepEqual(
          p2.items.map((o) => o.metadata.name),
          ['vm-3'],
        );
        assert.equal(p2.continue, undefined);
      }),
    );

    test(
      'a malformed continue token is rejected with BadRequest',
      withStore(async ({ store }) => {
        await store.create(vm('a'));
        const err = await rejectsWith(
          store.list('VirtualMachine', { continue: 'not-a-token' }),
          'BadRequest',
        );
        assert.equal(err.code, 400);
      }),
    );

    test(
      'filter skips items without counting them towards limit',
      withStore(async ({ store }) => {
        for (let i = 0; i < 10; i++) {
          const o = vm(`vm-${i}`);
          o.metadata.labels = { parity: i % 2 === 0 ? 'even' : 'odd' };
          await store.create(o);
        }
        const even = (o: KubeObject) => o.metadata.labels?.parity === 'even';
        const all = await store.list('VirtualMachine', { filter: even });
        assert.deepEqual(
          all.items.map((o) => o.metadata.name),
          ['vm-0', 'vm-2', 'vm-4', 'vm-6', 'vm-8'],
        );
        const names: string[] = [];
        let page = await store.list('VirtualMachine', { filter: even, limit: 2 });
        names.push(...page.items.map((o) => o.metadata.name));
        assert.equal(page.items.length, 2);
        while (page.continue !== undefined) {
          assert.ok(names.length <= 10, 'paging ends');
          page = await store.list('VirtualMachine', {
            filter: even,
            limit: 2,
            continue: page.continue,
          });
          assert.ok(
            page.items.length > 0,
            'a page that carries continue is followed by a non-empty page',
          );
          names.push(...page.items.map((o) => o.metadata.name));
        }
        assert.deepEqual(names, ['vm-0', 'vm-2', 'vm-4', 'vm-6', 'vm-8']);
        // The last match (vm-8) is followed by a non-match: a page that ends the matches carries no continue.
        const exact = await store.list('VirtualMachine', { filter: even, limit: 5 });
        assert.equal(exact.items.length, 5);
        assert.equal(exact.continue, undefined);
        const none = await store.list('VirtualMachine', { filter: () => false, limit: 3 });
        assert.deepEqual(none.items, []);
        assert.equal(none.continue, undefined);
      }),
    );

    test(
      'objects returned are copies: mutating them or the input changes nothing stored',
      withStore(async ({ store }) => {
        const ref = { kind: 'VirtualMachine', namespace: 'default', name: 'a' };
        const input = vm('a', 'default', { runStrategy: 'Halted', nested: { deep: [1, 2] } });
        const mutateAll = (o: KubeObject) => {
          o.metadata.name = 'changed';
          o.metadata.labels = { changed: 'yes' };
          (o.spec as { nested: { deep: number[] } }).nested.deep.push(99);
        };
        const first = new Recorder(store, 'VirtualMachine');
        const mutatingListener = store.watch('VirtualMachine', {}, (e) => mutateAll(e.object));
        const created = await store.create(input);
        const snapshot = structuredClone(created);
        mutateAll(input);
        mutateAll(created);
        const got = await store.get(ref);
        assert.deepEqual(got, snapshot);
        mutateAll(got as KubeObject);
        const listed = await store.list('VirtualMachine');
        mutateAll(listed.items[0] as KubeObject);
        assert.deepEqual(await store.get(ref), snapshot);
        await first.until((es) => es.length >= 1, 'the ADDED event');
        first.handle.stop();
        mutatingListener.stop();
        // Another listener's mutation must not leak into this listener's event (whichever ran first).
        const e = first.events[0] as WatchEvent;
        assert.equal(e.object.metadata.name, 'a');
        assert.deepEqual((e.object.spec as { nested: { deep: number[] } }).nested.deep, [1, 2]);
      }),
    );

    test(
      'concurrent creates of the same name: exactly one wins',
      withStore(async ({ store }) => {
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => store.create(vm('same', 'default', { attempt: i }))),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(won.length, 1);
        for (const r of lost) assert.equal((r.reason as HarrowError).reason, 'AlreadyExists');
        const stored = await store.get({
          kind: 'VirtualMachine',
          namespace: 'default',
          name: 'same',
        });
        assert.deepEqual(stored, (won[0] as PromiseFulfilledResult<KubeObject>).value);
        assert.equal((await store.list('VirtualMachine')).items.length, 1);
      }),
    );

    test(
      'concurrent updates from the same resourceVersion: exactly one wins, the rest get Conflict',
      withStore(async ({ store }) => {
        const base = await store.create(vm('a'));
        const results = await Promise.allSettled(
          Array.from({ length: 6 }, (_, i) =>
            store.update({ ...base, spec: { runStrategy: 'Always', attempt: i } }),
          ),
        );
        const won = results.filter(
          (r): r is PromiseFulfilledResult<KubeObject> => r.status === 'fulfilled',
        );
        assert.equal(won.length, 1);
        for (const r of results)
          if (r.status === 'rejected') assert.equal((r.reason as HarrowError).reason, 'Conflict');
        assert.deepEqual(
          await store.get({ kind: 'VirtualMachine', namespace: 'default', name: 'a' }),
          won[0]?.value,
        );
      }),
    );
  });
}
