// bench/scale: 10,000 VMs on the sim runtime through the real API (rate limiter off: the capacity lines measure the
// server) — creates per second beside the bare store, create→Running, list latency beside parse+stringify, a full drift
// scan as `harrow drift` reads it, restart-to-ready, RSS per 1,000 VMs, and a second create line with the default rate limiter on; each beside a
// baseline measured in the same run. Prints its table only (bench/report.ts); never asserts.
// Run: npm run bench:scale   (env: HARROW_BENCH_VMS, default 10000; HARROW_BENCH_PROFILE=DIR profiles each phase;
// HARROW_BENCH_RUNNING_WAIT_MS, default 600000: how long to wait for all Running — the drift part then uses those Running)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDrift } from '../src/cli/drift.ts';
import { HarrowClient } from '../src/client/client.ts';
import type { KubeObject } from '../src/resources/meta.ts';
import { LABEL_GUEST_MAC_MISMATCH, type VirtualMachineInstance } from '../src/resources/types.ts';
import { startHarrow, type HarrowOptions, type RunningHarrow } from '../src/server/harrow.ts';
import { openSqliteStore } from '../src/store/sqlite/store.ts';
import { BenchReport, median } from './report.ts';

const COUNT = Number(process.env.HARROW_BENCH_VMS ?? 10_000);
/** Creates of halted VMs (the write path alone), with the rate limiter off and on. */
const HALTED_COUNT = Math.min(COUNT, 3000);
const CONCURRENCY = 32;
const NS = 'default';
/** A limit no client reaches: the capacity lines measure the server, not the per-token limiter. */
const NO_RATE_LIMIT = { requestsPerSecond: 1e9, burst: 1e9 };
/** How long the bench waits for every VM to be Running, and then for the observer to record the changed guests. */
const RUNNING_WAIT_MS = Number(process.env.HARROW_BENCH_RUNNING_WAIT_MS ?? 600_000);
const DRIFT_WAIT_MS = 300_000;

const report = new BenchReport(
  'scale',
  `bench/scale on sim, ${COUNT} VMs, ${CONCURRENCY} requests in flight`,
);
let peakRss = 0;
// rss() alone: memoryUsage() also walks the heap spaces, which cost 4 % of the create→Running phase's CPU.
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);
const MiB = 1024 * 1024;
const cpuSeconds = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e6;

function vm(
  i: number,
  network: Record<string, unknown> = { multus: { networkName: 'lan' } },
  runStrategy = 'Always',
): KubeObject {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: `vm-${i}`, namespace: NS },
    spec: {
      runStrategy,
      template: {
        spec: {
          domain: { devices: { interfaces: [{ name: 'default', bridge: {} }] } },
          networks: [{ name: 'default', ...network }],
        },
      },
    },
  };
}
// 10,000 guests need more addresses than a /24 holds: they use the pod network (198.19.0.0/16).
const podVm = (i: number, runStrategy = 'Always'): KubeObject => vm(i, { pod: {} }, runStrategy);

async function pool<T>(n: number, work: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await work();
  return performance.now() - t;
}

async function listOnce(server: RunningHarrow): Promise<void> {
  const res = await fetch(`${server.url}/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  const body = (await res.json()) as { items: unknown[] };
  if (body.items.length !== COUNT)
    throw new Error(`list returned ${body.items.length} VMs, expected ${COUNT}`);
}

const serve = (dataDir: string, limits?: HarrowOptions['limits']): Promise<RunningHarrow> =>
  startHarrow({
    dataDir,
    listen: '127.0.0.1:0',
    runtime: 'sim',
    // Plain HTTP on loopback: the bench measures Harrow, not TLS handshakes, and fetch() needs no CA.
    tls: 'off',
    // The table is the only output.
    logLevel: 'silent',
    ...(limits ? { limits } : {}),
  });

/**
 * Drift: up to 100 guests spread over the Running ones change their MAC from inside. Only Running VMIs have a guest to
 * exec in (the API answers Conflict "VMI is not running" otherwise), so when not every VM reached Running the drift part
 * runs on those that did; a guest whose exec still fails (it stopped meanwhile) is left out. Returns how many changed.
 */
async function changeGuestMacs(client: HarrowClient, runningNames: string[]): Promise<number> {
  const wanted = Math.min(100, runningNames.length);
  const stride = Math.max(1, Math.floor(runningNames.length / Math.max(1, wanted)));
  let changed = 0;
  await pool(wanted, async (i) => {
    try {
      await client.guestExec(NS, runningNames[i * stride]!, [
        'ip',
        'link',
        'set',
        'eth0',
        'address',
        `02:00:00:ee:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
      ]);
      changed++;
    } catch {
      // Not running any more: not one of the changed guests.
    }
  });
  return changed;
}

/** VMI phases by name from one watch; `allRunning` resolves with the Running names once `count` are, or at `deadline`. */
function followVmiPhases(client: HarrowClient): {
  allRunning(count: number, deadline: number): Promise<string[]>;
  stop(): void;
} {
  const phaseOf = new Map<string, string | undefined>();
  let runningCount = 0;
  const watch = client.watch<VirtualMachineInstance>(
    'VirtualMachineInstance',
    { namespace: NS },
    (e) => {
      if (e.type !== 'ADDED' && e.type !== 'MODIFIED' && e.type !== 'DELETED') return;
      const name = e.object.metadata.name;
      const before = phaseOf.get(name);
      const after = e.type === 'DELETED' ? undefined : e.object.status?.phase;
      if (e.type === 'DELETED') phaseOf.delete(name);
      else phaseOf.set(name, after);
      runningCount += (after === 'Running' ? 1 : 0) - (before === 'Running' ? 1 : 0);
    },
  );
  const runningNames = (): string[] =>
    [...phaseOf].filter(([, phase]) => phase === 'Running').map(([name]) => name);
  return {
    async allRunning(count, deadline) {
      let watching = true;
      void watch.done.then(() => (watching = false));
      // Checked every 100 ms: fine enough beside a 20 s target, and no timer per event.
      while (runningCount < count && watching && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      if (watching) return runningNames();
      // The watch ended early (it never should in a bench run): poll lists until then instead.
      for (;;) {
        const vmis = await client.listAll<VirtualMachineInstance>('VirtualMachineInstance', {
          namespace: NS,
          limit: 5000,
        });
        const names = vmis.filter((v) => v.status?.phase === 'Running').map((v) => v.metadata.name);
        if (names.length >= count || performance.now() >= deadline) return names;
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    stop: () => watch.stop(),
  };
}

const driftedOf = (vmis: VirtualMachineInstance[]): number =>
  vmis.filter((v) =>
    v.status?.conditions?.some((c) => c.type === 'GuestMACMismatch' && c.status === 'True'),
  ).length;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'harrow-bench-'));
  try {
    // Baselines: the same manifests written straight into a bare store (no API, admission or controllers), and the
    // list read back from it and stringified.
    const bare = await openSqliteStore(join(dataDir, 'baseline.db'));
    const baselineCreate = await timed(() => pool(COUNT, (i) => bare.create(vm(i))));
    const baselineLists: number[] = [];
    for (let r = 0; r < 5; r++)
      baselineLists.push(
        await timed(async () => {
          const parsed = await bare.list('VirtualMachine', { namespace: NS });
          JSON.stringify({ items: parsed.items });
        }),
      );
    const baselineList = median(baselineLists);
    await bare.close();

    global.gc?.();
    const rssBefore = process.memoryUsage.rss();
    let server = await serve(join(dataDir, 'harrow'), NO_RATE_LIMIT);
    let client = new HarrowClient({ server: server.url, token: server.token });
    // Followed from before the first create: a watch costs the server one event per change, where polling lists of
    // 10,000 VMIs would compete for the CPU with the controllers being timed.
    const phases = followVmiPhases(client);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await report.phase('create', () =>
      pool(COUNT, (i) => client.create('VirtualMachine', { namespace: NS }, podVm(i))),
    );
    const createdAt = performance.now() - t0;
    let runningNames: string[] = [];
    await report.phase('running', async () => {
      runningNames = await phases.allRunning(COUNT, t0 + RUNNING_WAIT_MS);
    });
    phases.stop();
    const running = runningNames.length;
    const allRunning = performance.now() - t0;
    const runningCpu = cpuSeconds(process.cpuUsage(cpu0));
    global.gc?.();
    const rssRunning = process.memoryUsage.rss();
    const vms = await client.listAll('VirtualMachine', { namespace: NS, limit: 5000 });
    const unique = new Set(
      vms.map(
        (v) =>
          (
            v.spec as {
              template: {
                spec: { domain: { devices: { interfaces: Array<{ macAddress?: string }> } } };
              };
            }
          ).template.spec.domain.devices.interfaces[0]?.macAddress,
      ),
    ).size;

    const listTimes: number[] = [];
    await report.phase('list', async () => {
      for (let r = 0; r < 5; r++) listTimes.push(await timed(() => listOnce(server)));
    });

    const changed = await changeGuestMacs(client, runningNames);
    // Wait (not time) until the observer has recorded every change (the condition and its label come in one write);
    // then time what `harrow drift` does: the label-selected list of VMIs, then their VMs and launcher pods.
    for (let waitedFrom = performance.now(); changed > 0;) {
      const vmis = await client.listAll<VirtualMachineInstance>('VirtualMachineInstance', {
        namespace: NS,
        labelSelector: `${LABEL_GUEST_MAC_MISMATCH}=true`,
      });
      if (driftedOf(vmis) >= changed || performance.now() - waitedFrom > DRIFT_WAIT_MS) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    let drifted = 0;
    const scans: number[] = [];
    await report.phase('drift-scan', async () => {
      for (let r = 0; r < 3; r++)
        scans.push(
          await timed(async () => {
            const entries = await readDrift(client, { namespace: NS });
            drifted = new Set(entries.filter((e) => e.guestMac !== undefined).map((e) => e.vm))
              .size;
          }),
        );
    });

    await server.close();
    const t1 = performance.now();
    const cpu1 = process.cpuUsage();
    server = await report.phase('restart', () => serve(join(dataDir, 'harrow'), NO_RATE_LIMIT));
    const ready = performance.now() - t1;
    const readyCpu = cpuSeconds(process.cpuUsage(cpu1));
    await server.close();

    // The API write path alone (halted VMs: no guest starts competing for the CPU), with the limiter off and then on.
    const createHalted = async (limits: HarrowOptions['limits'] | undefined, dir: string) => {
      server = await serve(join(dataDir, dir), limits);
      client = new HarrowClient({ server: server.url, token: server.token });
      const ms = await report.phase(limits ? 'create-halted' : 'create-halted-limited', () =>
        timed(() =>
          pool(HALTED_COUNT, (i) =>
            client.create('VirtualMachine', { namespace: NS }, podVm(i, 'Halted')),
          ),
        ),
      );
      await server.close();
      return HALTED_COUNT / (ms / 1000);
    };
    const haltedRate = await createHalted(NO_RATE_LIMIT, 'halted');
    const limitedRate = await createHalted(undefined, 'limited');
    clearInterval(sampler);

    const bareRate = COUNT / (baselineCreate / 1000);
    const apiRate = COUNT / (createdAt / 1000);
    report.add({
      name: 'creates through the API (VMs started), limiter off',
      value: apiRate,
      unit: '/s',
      baseline: { name: 'bare store', value: bareRate, unit: '/s' },
      target: '≥ 0.3× the bare store',
      met: apiRate >= 0.3 * bareRate,
    });
    report.add({
      name: 'creates through the API of halted VMs, limiter off',
      value: haltedRate,
      unit: '/s',
      baseline: { name: 'bare store', value: bareRate, unit: '/s' },
      target: '≥ 0.3× the bare store',
      met: haltedRate >= 0.3 * bareRate,
      note: `${HALTED_COUNT} VMs: the write path alone, no guest starts`,
    });
    report.add({
      name: 'creates through the API of halted VMs, default limiter',
      value: limitedRate,
      unit: '/s',
      baseline: { name: 'bare store', value: bareRate, unit: '/s' },
      note: `${HALTED_COUNT} VMs, one token (500/s, burst 1000)`,
    });
    report.add({
      name: 'create → all Running',
      value: allRunning / 1000,
      unit: 's',
      target: '< 20 s',
      met: running >= COUNT && allRunning < 20_000,
      note: `${running}/${COUNT} Running`,
    });
    // CPU seconds of this process (server, sim and client): on a loaded machine the wall times above stretch with the
    // load, while the CPU a phase needs moves much less.
    report.add({
      name: 'CPU time of create → all Running',
      value: runningCpu,
      unit: 's',
      note: `user + system, this process; ${(runningCpu / (allRunning / 1000)).toFixed(2)} of a core on average`,
    });
    report.add({
      name: 'unique MACs',
      value: unique,
      unit: 'count',
      target: `${COUNT}`,
      met: unique === COUNT,
    });
    report.add({
      name: `list of ${COUNT} VMs (median of 5)`,
      value: median(listTimes),
      unit: 'ms',
      baseline: { name: 'parse+stringify', value: baselineList, unit: 'ms' },
      target: '≤ 1.5× the baseline',
      met: median(listTimes) <= 1.5 * baselineList,
    });
    report.add({
      name: `full drift scan (median of 3)`,
      value: median(scans),
      unit: 'ms',
      baseline: { name: 'parse+stringify of as many VMs', value: baselineList, unit: 'ms' },
      target: '< 100 ms',
      met: median(scans) < 100 && changed > 0 && drifted === changed,
      note:
        `${drifted}/${changed} changed guests found (harrow drift's reads: the labelled VMIs, their VMs and pods)` +
        (running < COUNT ? ` (changed among the ${running} Running VMs only)` : ''),
    });
    report.add({
      name: `restart to ready with ${COUNT} VMs`,
      value: ready,
      unit: 'ms',
      target: '< 1000 ms',
      met: ready < 1000,
    });
    report.add({
      name: 'CPU time of the restart to ready',
      value: readyCpu * 1000,
      unit: 'ms',
      note: 'user + system, this process',
    });
    report.add({
      name: 'RSS per 1,000 VMs (all Running, after GC)',
      value: (rssRunning - rssBefore) / MiB / (COUNT / 1000),
      unit: 'MiB',
      target: '≤ 50 MiB',
      met: (rssRunning - rssBefore) / MiB / (COUNT / 1000) <= 50,
      note: 'server + client + sim in one process, less the RSS before the server started',
    });
    report.add({ name: 'peak RSS (server + client + sim)', value: peakRss / MiB, unit: 'MiB' });
    report.finish();
  } finally {
    clearInterval(sampler);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
