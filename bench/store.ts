// bench/store: creates per second of SQLite's durability settings side by side (synchronous=NORMAL, the old default, and
// FULL, the default), and of etcd versus SQLite — in the store itself, and through the API with one replica and with
// two — each beside the SQLite baseline measured in the same run. Prints; never asserts.
// Run: npm run bench:store   (env: BENCH_STORE_N, BENCH_API_N, BENCH_CONCURRENCY; BENCH_API=0 skips the API level)
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../src/resources/meta.ts';
import { openEtcdStore } from '../src/store/etcd/store.ts';
import { openSqliteStore } from '../src/store/sqlite/store.ts';
import type { ResourceStore } from '../src/store/types.ts';
import { NS, bridgeNetwork, virtualMachine } from '../test/e2e/fixtures.ts';
import { startServer, type HarrowServer } from '../test/e2e/harness.ts';
import { startEtcdCluster } from '../test/support/etcd.ts';

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

const row = (label: string, perSecond: number, baseline: number): string =>
  `  ${label.padEnd(44)} ${perSecond.toFixed(0).padStart(7)} creates/s   ${(perSecond / baseline).toFixed(2)}× SQLite`;

async function storeLevel(endpoints: string[], dir: string): Promise<void> {
  console.log(`store.create(), ${STORE_N} VMs, ${CONCURRENCY} in flight, in this process:`);
  const normal = await openSqliteStore(join(dir, 'bench-normal.db'), { synchronous: 'normal' });
  const base = await rate(STORE_N, CONCURRENCY, (i) => normal.create(storeVm(i, 's')));
  await normal.close();
  console.log(row('SQLite (WAL, synchronous=NORMAL)', base, base));
  const sqlite = await openSqliteStore(join(dir, 'bench.db'));
  const full = await rate(STORE_N, CONCURRENCY, (i) => sqlite.create(storeVm(i, 's')));
  const level = sqlite.synchronous().toUpperCase();
  await sqlite.close();
  console.log(row(`SQLite (WAL, synchronous=${level}: the default)`, full, base));
  const one = await openEtcdStore({ endpoints, prefix: '/bench-one' });
  const etcdOne = await rate(STORE_N, CONCURRENCY, (i) => one.create(storeVm(i, 'e')));
  await one.close();
  console.log(row('etcd, one client', etcdOne, base));
  const two: ResourceStore[] = [
    await openEtcdStore({ endpoints, prefix: '/bench-two' }),
    await openEtcdStore({ endpoints, prefix: '/bench-two' }),
  ];
  const etcdTwo = await rate(STORE_N, CONCURRENCY, (i) =>
    (two[i % 2] as ResourceStore).create(storeVm(i, 'e')),
  );
  for (const s of two) await s.close();
  console.log(row('etcd, two clients (one gRPC connection each)', etcdTwo, base));
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

async function apiLevel(endpoints: string[]): Promise<void> {
  console.log(
    `\nPOST VirtualMachine (admission, pool MAC, audit record: one commit), ${API_N} VMs, ${CONCURRENCY} in flight, replicas as processes:`,
  );
  const servers: HarrowServer[] = [];
  try {
    const sqlite = await startServer();
    servers.push(sqlite);
    const base = await apiRate([sqlite], 'sq');
    await sqlite.stop();
    console.log(row('SQLite, one replica', base, base));
    const etcdArgs = (prefix: string, node: string) => [
      '--etcd',
      endpoints.join(','),
      '--etcd-prefix',
      prefix,
      '--node-name',
      node,
      '--no-local-node',
    ];
    const a = await startServer({ args: etcdArgs('/api-one', 'a') });
    servers.push(a);
    const one = await apiRate([a], 'e1');
    await a.stop();
    console.log(row('etcd, one replica', one, base));
    const pair = await Promise.all([
      startServer({ args: etcdArgs('/api-two', 'a') }),
      startServer({ args: etcdArgs('/api-two', 'b') }),
    ]);
    servers.push(...pair);
    const two = await apiRate(pair, 'e2');
    console.log(row('etcd, two replicas (requests alternate)', two, base));
    console.log(`  two replicas / one replica on etcd: ${(two / one).toFixed(2)}×`);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'harrow-bench-store-'));
// etcd and SQLite on the same file system by default, so neither gets cheaper fsyncs than the other;
// BENCH_ETCD_DATA=/dev/shm shows what etcd does when fsync is free.
const etcd = await startEtcdCluster(1, { dataRoot: process.env.BENCH_ETCD_DATA ?? dir });
try {
  console.log(
    `bench/store — load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; etcd 3.4, one member, data in ${etcd.dataDir}; SQLite in ${dir}\n`,
  );
  await storeLevel(etcd.endpoints, dir);
  if (process.env.BENCH_API !== '0') await apiLevel(etcd.endpoints);
} finally {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}
