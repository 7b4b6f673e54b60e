// Crash durability of the SQLite store: writer processes are SIGKILLed mid-write; every acknowledged write must survive.
// Run with HARROW_DURABILITY_CHILD set, this same file is the writer (it prints each write before and after it is made).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { KubeObject } from '../../src/resources/meta.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';
import type { WatchEvent, WriteOp } from '../../src/store/types.ts';

const SELF = fileURLToPath(import.meta.url);
const REPO = resolve(dirname(SELF), '../..');
const NS = 'durability';
const BATCH_ANNOTATION = 'harrow.io/test-batch';

/** One line of the writer's protocol: `start` before a write is issued, `ack` once its promise resolved. */
type Line =
  | { t: 'start'; id: number; op: 'create' | 'update' | 'delete'; name: string; step: string }
  | { t: 'ack'; id: number; rv: string }
  | { t: 'batch'; id: number; batch: string; names: string[] }
  | { t: 'batch-ack'; id: number; rvs: string[] };

const vmObject = (
  name: string,
  step: string,
  annotations?: Record<string, string>,
): KubeObject => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, namespace: NS, ...(annotations ? { annotations } : {}) },
  spec: {
    runStrategy: 'Halted',
    step,
    template: { spec: { domain: { devices: { interfaces: [{ name: 'default', bridge: {} }] } } } },
  },
});

// ---------------------------------------------------------------------------------------------------------------------
// The writer: creates, updates, deletes, concurrent creates and atomic batches, until it is killed.

async function runWriter(
  path: string,
  prefix: string,
  synchronous: 'normal' | 'full',
): Promise<void> {
  // A writer whose parent died must not linger.
  setTimeout(() => process.exit(3), 60_000).unref();
  const store = await openSqliteStore(path, { synchronous });
  const emit = (line: Line) => process.stdout.write(`${JSON.stringify(line)}\n`);
  let id = 0;
  const write = async (
    op: 'create' | 'update' | 'delete',
    name: string,
    step: string,
    run: () => Promise<KubeObject>,
  ) => {
    const mine = ++id;
    emit({ t: 'start', id: mine, op, name, step });
    const o = await run();
    emit({ t: 'ack', id: mine, rv: o.metadata.resourceVersion ?? '' });
    return o;
  };
  for (let i = 0; ; i++) {
    const name = `${prefix}vm-${i}`;
    const created = await write('create', name, 'created', () =>
      store.create(vmObject(name, 'created')),
    );
    await write('update', name, 'updated', () =>
      store.update({ ...created, spec: { ...(created.spec as object), step: 'updated' } }),
    );
    if (i % 3 === 2) {
      const victim = `${prefix}vm-${i - 1}`;
      await write('delete', victim, 'deleted', () =>
        store.delete({ kind: 'VirtualMachine', namespace: NS, name: victim }),
      );
    }
    if (i % 4 === 0) {
      // Several writes in flight at once: they share one group transaction but each is acknowledged on its own.
      await Promise.all(
        [0, 1, 2, 3].map((k) => {
          const n = `${prefix}c${i}-${k}`;
          return write('create', n, 'created', () => store.create(vmObject(n, 'created')));
        }),
      );
    }
    if (i % 5 === 0) {
      const batch = `${prefix}b${i}`;
      const names = [0, 1, 2].map((k) => `${batch}-${k}`);
      const mine = ++id;
      emit({ t: 'batch', id: mine, batch, names });
      const ops: WriteOp[] = names.map((n) => ({
        type: 'create',
        object: vmObject(n, 'created', { [BATCH_ANNOTATION]: batch }),
      }));
      const out = await store.commit(ops);
      emit({ t: 'batch-ack', id: mine, rvs: out.map((o) => o.metadata.resourceVersion ?? '') });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The parent: start writers, kill them at a random moment, reopen and check.

interface Writer {
  child: ChildProcess;
  lines: Line[];
  exited: Promise<void>;
}

function startWriter(path: string, prefix: string, synchronous: 'normal' | 'full'): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF], {
    cwd: REPO,
    env: { ...process.env, HARROW_DURABILITY_CHILD: JSON.stringify({ path, prefix, synchronous }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  let partial = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    // A line cut by the kill is incomplete: only whole lines count as printed.
    partial = parts.pop() ?? '';
    for (const p of parts) lines.push(JSON.parse(p) as Line);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolveExit) => {
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL')
        lines.push({
          t: 'start',
          id: -1,
          op: 'create',
          name: `writer exited ${code} ${signal}: ${stderr}`,
          step: '',
        });
      resolveExit();
    });
  });
  return { child, lines, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function killAfterRandomWork(w: Writer, minAcks: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (w.lines.filter((l) => l.t === 'ack' || l.t === 'batch-ack').length < minAcks) {
    assert.ok(
      Date.now() < deadline,
      `writer made too little progress: ${JSON.stringify(w.lines.slice(-3))}`,
    );
    assert.ok(
      w.child.exitCode === null && w.child.signalCode === null,
      `writer died early: ${JSON.stringify(w.lines.slice(-2))}`,
    );
    await sleep(5);
  }
  await sleep(Math.floor(Math.random() * 40));
  w.child.kill('SIGKILL');
  await w.exited;
}

/** What each name's stored state may be: after its acknowledged writes, or after some of its unacknowledged ones too. */
interface Expectation {
  /** States in write order: [the state after all acknowledged writes, then one per unacknowledged write]. */
  states: { exists: boolean; step?: string; rv?: string }[];
  batch?: { id: string; acked: boolean };
}

function expectations(lines: Line[]): Map<string, Expectation> {
  assert.ok(
    !lines.some((l) => l.t === 'start' && l.id === -1),
    `writer failed: ${JSON.stringify(lines.find((l) => l.t === 'start' && l.id === -1))}`,
  );
  const acked = new Map<number, string>();
  const batchAcked = new Map<number, string[]>();
  for (const l of lines) {
    if (l.t === 'ack') acked.set(l.id, l.rv);
    if (l.t === 'batch-ack') batchAcked.set(l.id, l.rvs);
  }
  const byName = new Map<string, Expectation>();
  const at = (name: string) => {
    let e = byName.get(name);
    if (!e) byName.set(name, (e = { states: [{ exists: false }] }));
    return e;
  };
  for (const l of lines) {
    if (l.t === 'start') {
      const e = at(l.name);
      const rv = acked.get(l.id);
      const next = l.op === 'delete' ? { exists: false } : { exists: true, step: l.step };
      if (rv !== undefined) {
        assert.equal(
          e.states.length,
          1,
          `${l.name}: an acknowledged write follows an unacknowledged one`,
        );
        e.states = [l.op === 'delete' ? next : { ...next, rv }];
      } else {
        e.states.push(next);
      }
    } else if (l.t === 'batch') {
      const rvs = batchAcked.get(l.id);
      l.names.forEach((n, k) => {
        const e = at(n);
        e.batch = { id: l.batch, acked: rvs !== undefined };
        if (rvs) e.states = [{ exists: true, step: 'created', rv: rvs[k] ?? '' }];
        else e.states.push({ exists: true, step: 'created' });
      });
    }
  }
  return byName;
}

async function replayAll(store: SqliteStore, count: number): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  const h = store.watch('VirtualMachine', { sinceResourceVersion: '0' }, (e) => events.push(e));
  const deadline = Date.now() + 30_000;
  while (events.length < count && Date.now() < deadline) await sleep(5);
  h.stop();
  return events;
}

async function verify(path: string, writers: Writer[]): Promise<{ acked: number; stored: number }> {
  const store = await openSqliteStore(path);
  try {
    const listed = await store.list('VirtualMachine', { namespace: NS });
    const current = Number(await store.currentResourceVersion());
    const stored = new Map(listed.items.map((o) => [o.metadata.name, o]));
    let ackedWrites = 0;
    const ackedRvs = new Set<string>();

    for (const w of writers) {
      for (const l of w.lines) {
        if (l.t === 'ack') {
          ackedWrites++;
          assert.ok(!ackedRvs.has(l.rv), `resourceVersion ${l.rv} acknowledged twice`);
          ackedRvs.add(l.rv);
          assert.ok(
            Number(l.rv) <= current,
            `acknowledged rv ${l.rv} is beyond the store's revision ${current}`,
          );
        }
        if (l.t === 'batch-ack') ackedWrites += l.rvs.length;
      }
      for (const [name, e] of expectations(w.lines)) {
        const o = stored.get(name);
        const step = (o?.spec as { step?: string } | undefined)?.step;
        const fits = e.states.some((s, k) =>
          s.exists
            ? o !== undefined &&
              step === s.step &&
              (k > 0 || s.rv === undefined || s.rv === o.metadata.resourceVersion)
            : o === undefined,
        );
        assert.ok(
          fits,
          `${name}: stored ${o ? `${step}@${o.metadata.resourceVersion}` : 'nothing'}, expected one of ${JSON.stringify(e.states)}`,
        );
        stored.delete(name);
      }
    }
    assert.deepEqual([...stored.keys()], [], 'objects nobody started to write');

    // Batches are all or nothing.
    const batches = new Map<string, number>();
    for (const o of listed.items) {
      const b = o.metadata.annotations?.[BATCH_ANNOTATION];
      if (b) batches.set(b, (batches.get(b) ?? 0) + 1);
    }
    for (const [b, n] of batches) assert.equal(n, 3, `batch ${b} is partly stored`);

    // The change log is whole: one change per revision 1..current, and replaying it rebuilds exactly the stored objects.
    const events = await replayAll(store, current);
    assert.equal(events.length, current, 'one change per revision');
    const rebuilt = new Map<string, KubeObject>();
    events.forEach((e, k) => {
      assert.equal(e.object.metadata.resourceVersion, String(k + 1), 'revisions are contiguous');
      if (e.type === 'DELETED') rebuilt.delete(e.object.metadata.name);
      else rebuilt.set(e.object.metadata.name, e.object);
    });
    assert.deepEqual(
      [...rebuilt.values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1)),
      listed.items,
    );
    const uids = new Set(listed.items.map((o) => o.metadata.uid));
    assert.equal(uids.size, listed.items.length, 'uids are unique');

    // And the store goes on from where it stopped.
    const next = await store.create(vmObject('after-recovery', 'created'));
    assert.equal(next.metadata.resourceVersion, String(current + 1));
    return { acked: ackedWrites, stored: listed.items.length };
  } finally {
    await store.close();
  }
}

const child = process.env.HARROW_DURABILITY_CHILD;
if (child !== undefined) {
  const { path, prefix, synchronous } = JSON.parse(child) as {
    path: string;
    prefix: string;
    synchronous: 'normal' | 'full';
  };
  await runWriter(path, prefix, synchronous);
} else {
  const RUNS: ('normal' | 'full')[] = ['normal', 'normal', 'normal', 'normal', 'full'];
  RUNS.forEach((synchronous, run) => {
    test(`every acknowledged write survives SIGKILL of the writer (run ${run + 1}, synchronous=${synchronous})`, async (t) => {
      const dir = await mkdtemp(join(tmpdir(), 'harrow-durability-'));
      let w: Writer | undefined;
      try {
        const path = join(dir, 'harrow.db');
        w = startWriter(path, 'w-', synchronous);
        await killAfterRandomWork(w, 50 + Math.floor(Math.random() * 400));
        const { acked, stored } = await verify(path, [w]);
        t.diagnostic(`${acked} acknowledged writes before SIGKILL, ${stored} objects stored`);
      } finally {
        if (w && w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  test('two writer processes on one file, both SIGKILLed: no acknowledged write lost, no resourceVersion given twice', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'harrow-durability-'));
    const writers: Writer[] = [];
    try {
      const path = join(dir, 'harrow.db');
      // Creating the schema first keeps the two writers from racing to create it.
      await (await openSqliteStore(path)).close();
      writers.push(startWriter(path, 'a-', 'normal'), startWriter(path, 'b-', 'normal'));
      await Promise.all(
        writers.map((w) => killAfterRandomWork(w, 100 + Math.floor(Math.random() * 300))),
      );
      const { acked, stored } = await verify(path, writers);
      t.diagnostic(`${acked} acknowledged writes from two processes, ${stored} objects stored`);
    } finally {
      for (const w of writers)
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
}
