// The controller runner: dedup queue, re-run after a busy key, backoff, requeueAfter, concurrency, resync; events; metrics.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordEvent } from '../../src/controllers/events.ts';
import {
  ControllerManager,
  Informer,
  objectKey,
  type Result,
} from '../../src/controllers/framework.ts';
import { pino } from 'pino';
import { MetricsRegistry } from '../../src/metrics/families.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import type { KubeEvent } from '../../src/resources/types.ts';
import { NodeView, scheduledNode } from '../../src/store/node-view.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import type { ResourceStore } from '../../src/store/types.ts';

const cm = (name: string, data: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ns' },
  spec: { containers: [], data },
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Polls `ok` until it holds; fails naming `what` after 30 s (generous: the machine may be busy). */
async function until(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!ok()) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await sleep(5);
  }
}

async function withManager(
  fn: (m: ControllerManager, store: ResourceStore) => Promise<void>,
  setup?: (store: ResourceStore) => Promise<void>,
): Promise<void> {
  const store = await openSqliteStore(':memory:');
  const m = new ControllerManager({ store, metrics: new MetricsRegistry() });
  try {
    await setup?.(store);
    await fn(m, store);
  } finally {
    await m.stop();
    await store.close();
  }
}

describe('controller runner', () => {
  test('existing objects are enqueued at start (resync) and changes after; repeated keys are deduplicated', async () => {
    await withManager(
      async (m, store) => {
        const seen: string[] = [];
        const c = m.controller({ name: 't', reconcile: async (k) => (seen.push(k), {}) });
        m.informer('Pod').onEvent((e) => c.enqueue(objectKey(e.object)));
        await m.start();
        await m.waitForIdle();
        assert.deepEqual(seen.sort(), ['ns/a', 'ns/b']);
        seen.length = 0;
        c.enqueue('ns/x');
        c.enqueue('ns/x');
        c.enqueue('ns/x');
        await store.create(cm('c'));
        await m.waitForIdle();
        assert.deepEqual(seen.sort(), ['ns/c', 'ns/x']);
      },
      async (store) => {
        await store.create(cm('a'));
        await store.create(cm('b'));
      },
    );
  });

  test('a key enqueued while it is being reconciled runs again afterwards, never twice at once', async () => {
    await withManager(async (m) => {
      let running = 0;
      let maxRunning = 0;
      let runs = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const c = m.controller({
        name: 't',
        concurrency: 4,
        reconcile: async (key) => {
          if (key === 'marker') {
            markerDone = true;
            return {};
          }
          running++;
          maxRunning = Math.max(maxRunning, running);
          runs++;
          if (runs === 1) await gate;
          running--;
          return {};
        },
      });
      let markerDone = false;
      await m.start();
      c.enqueue('k');
      await until(() => runs === 1, 'the first reconcile of k started');
      c.enqueue('k');
      c.enqueue('k');
      // The queue is first in, first out with free workers: once a key enqueued after them is done, a second k would
      // have been started already if the queue let it run beside the first.
      c.enqueue('marker');
      await until(() => markerDone, 'the marker key was reconciled');
      assert.equal(runs, 1);
      release();
      await m.waitForIdle();
      assert.equal(runs, 2);
      assert.equal(maxRunning, 1);
    });
  });

  test('concurrency bounds the keys reconciled at once', async () => {
    await withManager(async (m) => {
      let running = 0;
      let maxRunning = 0;
      const c = m.controller({
        name: 't',
        concurrency: 3,
        reconcile: async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await sleep(5);
          running--;
          return {};
        },
      });
      await m.start();
      for (let i = 0; i < 20; i++) c.enqueue(`k${i}`);
      await m.waitForIdle();
      assert.equal(maxRunning, 3);
    });
  });

  test('errors are retried with growing backoff until the reconcile succeeds', async () => {
    await withManager(async (m) => {
      const times: number[] = [];
      const c = m.controller({
        name: 't',
        baseBackoffMs: 10,
        reconcile: async (): Promise<Result> => {
          times.push(Date.now());
          if (times.length < 4) throw new Error('not yet');
          return {};
        },
      });
      await m.start();
      c.enqueue('k');
      await m.waitForIdle({ timeoutMs: 2_000 });
      assert.equal(times.length, 4);
      const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
      // 10, 20, 40 ms (timers may fire a little late, never early)
      assert.ok(
        (gaps[0] as number) >= 9 && (gaps[1] as number) >= 19 && (gaps[2] as number) >= 39,
        String(gaps),
      );
    });
  });

  test('requeueAfter runs the key again after the delay', async () => {
    await withManager(async (m) => {
      const times: number[] = [];
      const c = m.controller({
        name: 't',
        reconcile: async () => (
          times.push(Date.now()),
          times.length < 3 ? { requeueAfter: 30 } : {}
        ),
      });
      await m.start();
      c.enqueue('k');
      while (times.length < 3) await sleep(5);
      assert.ok((times[1] as number) - (times[0] as number) >= 29);
    });
  });

  test('stop waits for reconciles in flight; waitForIdle names busy keys on timeout', async () => {
    await withManager(async (m) => {
      let started = false;
      let finished = false;
      const c = m.controller({
        name: 'slow',
        reconcile: async (k) => {
          if (k === 'fail') throw new Error('always');
          started = true;
          await sleep(50);
          finished = true;
          return {};
        },
      });
      await m.start();
      c.enqueue('fail');
      await assert.rejects(m.waitForIdle({ timeoutMs: 100 }), /slow: .*fail \(retrying\)/);
      c.enqueue('k');
      await until(() => started, 'the reconcile of k started');
      await m.stop();
      assert.equal(finished, true);
    });
  });

  test('the informer keeps indexes current across updates and deletes', async () => {
    await withManager(async (m, store) => {
      const inf = m.informer('Pod');
      inf.addIndex('data', (o) => Object.values((o.spec as { data: Record<string, string> }).data));
      await m.start();
      await store.create(cm('a', { x: 'red' }));
      await store.create(cm('b', { x: 'red' }));
      assert.deepEqual(
        inf
          .byIndex('data', 'red')
          .map((o) => o.metadata.name)
          .sort(),
        ['a', 'b'],
      );
      const a = (await store.get({ kind: 'Pod', namespace: 'ns', name: 'a' })) as KubeObject;
      (a.spec as { data: Record<string, string> }).data = { x: 'blue' };
      await store.update(a);
      await store.delete({ kind: 'Pod', namespace: 'ns', name: 'b' });
      assert.deepEqual(inf.byIndex('data', 'red'), []);
      assert.deepEqual(
        inf.byIndex('data', 'blue').map((o) => o.metadata.name),
        ['a'],
      );
    });
  });
});

describe('events', () => {
  test('a repeated event is aggregated: one object, count and lastTimestamp', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      const vm = (await store.create({
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: 'v', namespace: 'default' },
        spec: {},
      })) as KubeObject;
      await recordEvent(store, vm, 'Normal', 'Started', 'started', {
        now: new Date('2026-01-01T00:00:00Z'),
      });
      const second = await recordEvent(store, vm, 'Normal', 'Started', 'started', {
        now: new Date('2026-01-01T00:01:00Z'),
      });
      await recordEvent(store, vm, 'Warning', 'Failed', 'boom');
      const events = (await store.list('Event', { namespace: 'default' })).items as KubeEvent[];
      assert.equal(events.length, 2);
      assert.equal(second.count, 2);
      assert.equal(second.firstTimestamp, '2026-01-01T00:00:00.000Z');
      assert.equal(second.lastTimestamp, '2026-01-01T00:01:00.000Z');
      assert.equal(second.involvedObject.uid, vm.metadata.uid);
      assert.match(second.metadata.name, /^v\.[0-9a-f]{16}$/);
    } finally {
      await store.close();
    }
  });
});

describe('metrics', () => {
  test("a controller's reconciles, errors, time and queue in controller-runtime's and workqueue's names", async () => {
    const store = await openSqliteStore(':memory:');
    const registry = new MetricsRegistry();
    const m = new ControllerManager({ store, metrics: registry });
    let calls = 0;
    const c = m.controller({
      name: 'demo',
      baseBackoffMs: 1,
      reconcile: async () => {
        if (calls++ === 0) throw new Error('first try fails');
        return {};
      },
    });
    try {
      await m.start();
      c.enqueue('ns/a');
      await m.waitForIdle();
      const text = await registry.metrics();
      assert.match(
        text,
        /controller_runtime_reconcile_total\{controller="demo",result="error"\} 1/,
      );
      assert.match(
        text,
        /controller_runtime_reconcile_total\{controller="demo",result="success"\} 1/,
      );
      assert.match(text, /controller_runtime_reconcile_errors_total\{controller="demo"\} 1/);
      assert.match(text, /controller_runtime_reconcile_time_seconds_count\{controller="demo"\} 2/);
      assert.match(text, /workqueue_adds_total\{name="demo",controller="demo"\} 2/);
      assert.match(text, /workqueue_retries_total\{name="demo",controller="demo"\} 1/);
      assert.match(text, /workqueue_depth\{name="demo",controller="demo"\} 0/);
    } finally {
      await m.stop();
      await store.close();
    }
  });
});

describe('Informer when the store ends its watch', () => {
  test('it re-lists (catching up on what it missed, deletions included) and watches again', async () => {
    const real = await openSqliteStore(':memory:');
    // The real store, except that the test can end a watch the way the etcd store does after a compaction.
    const enders: Array<(e: unknown) => void> = [];
    const handles: Array<{ stop(): void }> = [];
    const store: ResourceStore = {
      get: (ref) => real.get(ref),
      list: (kind, options) => real.list(kind, options),
      create: (o) => real.create(o),
      update: (o) => real.update(o),
      delete: (ref, rv) => real.delete(ref, rv),
      commit: (ops) => real.commit(ops),
      currentResourceVersion: () => real.currentResourceVersion(),
      close: () => real.close(),
      watch: (
        kind: string,
        options: Parameters<ResourceStore['watch']>[1],
        listener: Parameters<ResourceStore['watch']>[2],
      ) => {
        const h = real.watch(kind, options, listener);
        handles.push(h);
        enders.push((e) => {
          h.stop();
          options.onEnded?.(e);
        });
        return h;
      },
    };
    const informer = new Informer('Pod', store, pino({ level: 'silent' }));
    try {
      await real.create(cm('a'));
      await informer.start();
      assert.ok(informer.get('ns/a'));
      enders.at(-1)!(new Error('compacted'));
      // Changes while no watch runs: only a re-list can see them.
      await real.delete({ kind: 'Pod', namespace: 'ns', name: 'a' });
      await real.create(cm('b'));
      await until(
        () => !informer.get('ns/a') && informer.get('ns/b') !== undefined,
        'the informer re-listed',
      );
      assert.equal(
        informer.get('ns/a'),
        undefined,
        'the deletion missed while unwatched is caught up',
      );
      assert.ok(informer.get('ns/b'), 'the creation missed while unwatched is caught up');
      assert.equal(handles.length, 2, 'a new watch was started');
      await real.create(cm('c'));
      await until(() => informer.get('ns/c') !== undefined, 'the new watch delivered c');
      assert.ok(informer.get('ns/c'), 'and the new watch delivers');
    } finally {
      informer.stop();
      await real.close();
    }
  });
});

describe('one cache per process', () => {
  test("a node's view of the control plane's informer sees and hears what its own watch through NodeView would", async () => {
    const store = await openSqliteStore(':memory:');
    const metrics = new MetricsRegistry();
    const controlPlane = new ControllerManager({ store, metrics });
    const shared = new ControllerManager({
      store: new NodeView(store, 'n1'),
      metrics,
      informersOf: {
        manager: controlPlane,
        filterFor: (kind) => (kind === 'Pod' ? (o) => scheduledNode(o) === 'n1' : undefined),
      },
    });
    const own = new ControllerManager({ store: new NodeView(store, 'n1'), metrics });
    const heard = (m: ControllerManager): string[] => {
      const out: string[] = [];
      const pods = m.informer('Pod');
      pods.addIndex('name', (o) => [o.metadata.name]);
      pods.onEvent((e) =>
        out.push(`${e.type} ${e.object.metadata.name}${e.old ? ' (had it)' : ''}`),
      );
      return out;
    };
    const onPod = (name: string, node: string): KubeObject => ({
      ...cm(name),
      spec: { containers: [], nodeName: node },
    });
    try {
      await store.create(onPod('before', 'n1'));
      await store.create(onPod('elsewhere-before', 'n2'));
      const viaView = heard(shared);
      const viaWatch = heard(own);
      // A kind the node does not filter is the control plane's informer itself.
      assert.equal(shared.informer('Namespace'), controlPlane.informer('Namespace'));
      await controlPlane.start();
      await shared.start();
      await own.start();
      const a = await store.create(onPod('a', 'n2'));
      const moved = await store.update({ ...a, spec: { containers: [], nodeName: 'n1' } });
      await store.update({ ...moved, metadata: { ...moved.metadata, labels: { x: '1' } } });
      const b = await store.create(onPod('b', 'n1'));
      const away = await store.update({ ...b, spec: { containers: [], nodeName: 'n2' } });
      await store.delete({ kind: 'Pod', namespace: 'ns', name: 'a' });
      await store.delete({ kind: 'Pod', namespace: 'ns', name: away.metadata.name });
      // A last change on the node marks the end of what both must have heard.
      await store.create(onPod('last', 'n1'));
      await until(
        () => viaWatch.includes('ADDED last') && viaView.includes('ADDED last'),
        'both heard the last change',
      );
      assert.deepEqual(viaView, viaWatch);
      assert.deepEqual(viaView, [
        'ADDED before',
        'MODIFIED a',
        'MODIFIED a (had it)',
        'ADDED b',
        'DELETED b (had it)',
        'DELETED a (had it)',
        'ADDED last',
      ]);
      const view = shared.informer('Pod');
      assert.deepEqual(
        [...view.values()].map((p) => p.metadata.name),
        ['before', 'last'],
      );
      assert.equal(view.get('ns/elsewhere-before'), undefined);
      assert.deepEqual(view.byIndex('name', 'elsewhere-before'), []);
      assert.equal(view.byIndex('name', 'before').length, 1);
      assert.equal(view.size, 2);
      assert.equal(controlPlane.informer('Pod').size, 3);
    } finally {
      await own.stop();
      await shared.stop();
      await controlPlane.stop();
      await store.close();
    }
  });
});
