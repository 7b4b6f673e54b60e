// bench/store: creates per second of SQLite's durability settings side by side (synchronous=NORMAL, the old default, and
// FULL, the default), and of etcd versus SQLite — in the store itself, and through the API with one replica and with
// two — each beside its baseline measured in the same run (the API lines beside the store they write to, with the rate
// limiter off so they measure the server). Prints its table only (bench/report.ts); never asserts.
// Run: npm run bench:store   (env: BENCH_STORE_N, BENCH_API_N, BENCH_CONCURRENCY; BENCH_API=0 skips the API level)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../src/resources/meta.ts';
import { openEtcdStore } from '../src/store/etcd/store.ts';
import { openSqliteStore } from '../src/store/sqlite/store.ts';
import type { ResourceStore } from '../src/store/types.ts';
import { NS, bridgeNetwork, virtualMachine } from '../test/e2e/fixtures.ts';
import { startServer, type HarrowServer } from '../test/e2e/harness.ts';
import { startEtcdCluster } from '../test/support/etcd.ts';
import { BenchReport } from './report.ts';

const STORE_N = Number(process.env.BENCH_STORE_N ?? 3000);
const API_N = Number(process.env.BENCH_API_N ?? 600);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

function storeVm(i: number, tag: string): KubeObject {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: `${tag}-${i}`, namespace: 'default' },
    spec: { runStrategy: 'Halted', template: { spec: { domain: { devices: {} } } } },
  };
}

/** Runs `count` calls of `one(i)` with `parallel` in flight; returns calls per second. */
async function rate(
  count: number,
  parallel: number,
  one: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await one(next++);
    }),
  );
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** Rates found so far, the API lines' baselines. */
const rates = new Map<string, number>();
let report: BenchReport;

function row(name: string, perSecond: number, baseline?: string, target?: number): void {
  rates.set(name, perSecond);
  const base = baseline !== undefined ? rates.get(baseline) : undefined;
  report.add({
    name,
    value: perSecond,
    unit: 'creates/s',
    ...(base !== undefined && baseline !== undefined
      ? { baseline: { name: baseline, value: base, unit: 'creates/s' } }
      : {}),
    ...(target !== undefined && base !== undefined
      ? { target: `≥ ${target}× the baseline`, met: perSecond >= target * base }
      : {}),
  });
}

async function storeLevel(endpoints: string[], dir: string): Promise<void> {
  const normal = await openSqliteStore(join(dir, 'bench-normal.db'), { synchronous: 'normal' });
  const base = await rate(STORE_N, CONCURRENCY, (i) => normal.create(storeVm(i, 's')));
  await normal.close();
  row('store: SQLite (WAL, synchronous=NORMAL)', base);
  const sqlite = await openSqliteStore(join(dir, 'bench.db'));
  const full = await rate(STORE_N, CONCURRENCY, (i) => sqlite.create(storeVm(i, 's')));
  const level = sqlite.synchronous().toUpperCase();
  await sqlite.close();
  row(`store: SQLite (WAL, synchronous=${level})`, full, 'store: SQLite (WAL, synchronous=NORMAL)');
  rates.set('store: SQLite (default)', full);
  const one = await openEtcdStore({ endpoints, prefix: '/bench-one' });
  const etcdOne = await rate(STORE_N, CONCURRENCY, (i) => one.create(storeVm(i, 'e')));
  await one.close();
  row('store: etcd, one client', etcdOne, 'store: SQLite (default)');
  const two: ResourceStore[] = [
    await openEtcdStore({ endpoints, prefix: '/bench-two' }),
    await openEtcdStore({ endpoints, prefix: '/bench-two' }),
  ];
  const etcdTwo = await rate(STORE_N, CONCURRENCY, (i) =>
    (two[i % 2] as ResourceStore).create(storeVm(i, 'e')),
  );
  for (const s of two) await s.close();
  row('store: etcd, two clients', etcdTwo, 'store: etcd, one client');
}

async function apiRate(servers: HarrowServer[], tag: string): Promise<number> {
  await servers[0]!.client.create(
    'NetworkAttachmentDefinition',
    { namespace: NS },
    bridgeNetwork('lan', 41),
  );
  return rate(API_N, CONCURRENCY, (i) =>
    (servers[i % servers.length] as HarrowServer).client.create(
      'VirtualMachine',
      { namespace: NS },
      virtualMachine(`${tag}-${i}`, { runStrategy: 'Halted' }),
    ),
  );
}

/** Capacity lines: the per-token rate limiter out of the way, so they measure the server. */
const NO_RATE_LIMIT = ['--rate-limit', '1000000000', '--rate-burst', '1000000000'];

async function apiLevel(endpoints: string[]): Promise<void> {
  const servers: HarrowServer[] = [];
  try {
    const sqlite = await startServer({ args: NO_RATE_LIMIT });
    servers.push(sqlite);
    const base = await apiRate([sqlite], 'sq');
    await sqlite.stop();
    row('API: SQLite, one replica', base, 'store: SQLite (default)', 0.3);
    const etcdArgs = (prefix: string, node: string) => [
      '--etcd',
      endpoints.join(','),
      '--etcd-prefix',
      prefix,
      '--node-name',
      node,
      '--no-local-node',
      ...NO_RATE_LIMIT,
    ];
    const a = await startServer({ args: etcdArgs('/api-one', 'a') });
    servers.push(a);
    const one = await apiRate([a], 'e1');
    await a.stop();
    row('API: etcd, one replica', one, 'store: etcd, one client', 0.5);
    const pair = await Promise.all([
      startServer({ args: etcdArgs('/api-two', 'a') }),
      startServer({ args: etcdArgs('/api-two', 'b') }),
    ]);
    servers.push(...pair);
    const two = await apiRate(pair, 'e2');
    row('API: etcd, two replicas (requests alternate)', two, 'API: etcd, one replica', 1.7);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'harrow-bench-store-'));
// etcd and SQLite on the same file system by default, so neither gets cheaper fsyncs than the other;
// BENCH_ETCD_DATA=/dev/shm shows what etcd does when fsync is free.
const etcd = await startEtcdCluster(1, { dataRoot: process.env.BENCH_ETCD_DATA ?? dir });
try {
  report = new BenchReport(
    'store',
    `bench/store: creates/s, ${STORE_N} VMs into each store and ${API_N} through the API (admission, pool MAC, audit record: one commit; replicas as processes), ${CONCURRENCY} in flight; etcd 3.4, one member, data in ${etcd.dataDir}; SQLite in ${dir}`,
  );
  await storeLevel(etcd.endpoints, dir);
  if (process.env.BENCH_API !== '0') await apiLevel(etcd.endpoints);
  report.finish();
} finally {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}
