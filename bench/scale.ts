// bench/scale: 10,000 VMs on the sim runtime through the real API — create→Running wall time and peak memory, list
// latency, a full drift scan, and restart-to-ready — each beside a baseline measured in the same run. Prints; never asserts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarrowClient } from '../src/client/client.ts';
import type { KubeObject } from '../src/resources/meta.ts';
import type { VirtualMachineInstance } from '../src/resources/types.ts';
import { startHarrow, type RunningHarrow } from '../src/server/harrow.ts';
import { openSqliteStore } from '../src/store/sqlite/store.ts';

const COUNT = Number(process.env.HARROW_BENCH_VMS ?? 10_000);
const CONCURRENCY = 32;
const NS = 'default';

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MiB`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function vm(
  i: number,
  network: Record<string, unknown> = { multus: { networkName: 'lan' } },
): KubeObject {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: `vm-${i}`, namespace: NS },
    spec: {
      runStrategy: 'Always',
      template: {
        spec: {
          domain: { devices: { interfaces: [{ name: 'default', bridge: {} }] } },
          networks: [{ name: 'default', ...network }],
        },
      },
    },
  };
}

async function pool<T>(n: number, work: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

async function timeList(server: RunningHarrow, rounds = 5): Promise<number[]> {
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    const res = await fetch(`${server.url}/apis/kubevirt.io/v1/namespaces/${NS}/virtualmachines`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    const body = (await res.json()) as { items: unknown[] };
    times.push(performance.now() - t);
    if (body.items.length !== COUNT)
      throw new Error(`list returned ${body.items.length} VMs, expected ${COUNT}`);
  }
  return times;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'harrow-bench-'));
  try {
    // Baseline: the same 10,000 manifests written straight into a bare store (no API, admission or controllers).
    const bare = await openSqliteStore(join(dataDir, 'baseline.db'));
    let t = performance.now();
    await pool(COUNT, (i) => bare.create(vm(i)));
    const baselineCreate = performance.now() - t;
    t = performance.now();
    const parsed = await bare.list('VirtualMachine', { namespace: NS });
    JSON.stringify({ items: parsed.items });
    const baselineList = performance.now() - t;
    await bare.close();

    let server = await startHarrow({
      dataDir: join(dataDir, 'harrow'),
      listen: '127.0.0.1:0',
      runtime: 'sim',
      // Plain HTTP on loopback: the bench measures Harrow, not TLS handshakes, and fetch() needs no CA.
      tls: 'off',
      logLevel: 'warn',
    });
    let client = new HarrowClient({ server: server.url, token: server.token });
    // 10,000 guests need more addresses than a /24 holds: they use the pod network (198.19.0.0/16).
    const podVm = (i: number): KubeObject => vm(i, { pod: {} });
    t = performance.now();
    let created = 0;
    await pool(COUNT, async (i) => {
      await client.create('VirtualMachine', { namespace: NS }, podVm(i));
      created++;
      if (created % 1000 === 0)
        process.stderr.write(`created ${created}/${COUNT} (${secs(performance.now() - t)})\n`);
    });
    const createdAt = performance.now() - t;
    let running = 0;
    for (;;) {
      const vmis = await client.listAll<VirtualMachineInstance>('VirtualMachineInstance', {
        namespace: NS,
        limit: 5000,
      });
      running = vmis.filter((v) => v.status?.phase === 'Running').length;
      process.stderr.write(`running ${running}/${COUNT} (${secs(performance.now() - t)})\n`);
      if (running >= COUNT || performance.now() - t > 600_000) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    const allRunning = performance.now() - t;
    const vms = await client.listAll('VirtualMachine', { namespace: NS, limit: 5000 });
    const macs = vms.map(
      (v) =>
        (
          v.spec as {
            template: {
              spec: { domain: { devices: { interfaces: Array<{ macAddress?: string }> } } };
            };
          }
        ).template.spec.domain.devices.interfaces[0]?.macAddress,
    );
    const unique = new Set(macs).size;

    const listTimes = await timeList(server);

    // Drift: 100 guests (spread over all, fewer when there are fewer VMs) change their MAC from inside, then one scan finds every mismatch.
    const stride = Math.max(1, Math.floor(COUNT / 100));
    await pool(Math.min(100, COUNT), (i) =>
      client
        .guestExec(NS, `vm-${i * stride}`, [
          'ip',
          'link',
          'set',
          'eth0',
          'address',
          `02:00:00:ee:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
        ])
        .then(() => undefined),
    );
    await new Promise((r) => setTimeout(r, 3000));
    t = performance.now();
    const vmis = await client.listAll<VirtualMachineInstance>('VirtualMachineInstance', {
      namespace: NS,
      limit: 5000,
    });
    const drifted = vmis.filter((v) =>
      v.status?.conditions?.some((c) => c.type === 'GuestMACMismatch' && c.status === 'True'),
    ).length;
    const driftScan = performance.now() - t;

    await server.close();
    t = performance.now();
    server = await startHarrow({
      dataDir: join(dataDir, 'harrow'),
      listen: '127.0.0.1:0',
      runtime: 'sim',
      // Plain HTTP on loopback: the bench measures Harrow, not TLS handshakes, and fetch() needs no CA.
      tls: 'off',
      logLevel: 'warn',
    });
    const ready = performance.now() - t;
    client = new HarrowClient({ server: server.url, token: server.token });
    await server.close();

    clearInterval(sampler);
    const rows: Array<[string, string, string]> = [
      [
        'VMs created through the API',
        `${COUNT} in ${secs(createdAt)} (${(COUNT / (createdAt / 1000)).toFixed(0)}/s)`,
        `bare store: ${secs(baselineCreate)} (${(createdAt / baselineCreate).toFixed(1)}× the bare store)`,
      ],
      [
        'all Running (create → Running)',
        `${running}/${COUNT} in ${secs(allRunning)}`,
        'target < 60 s',
      ],
      ['unique MACs', `${unique}/${COUNT}`, unique === COUNT ? 'no duplicate' : 'DUPLICATES'],
      ['peak RSS (server + client + sim)', mib(peakRss), ''],
      [
        `list ${COUNT} VMs (median of 5)`,
        `${median(listTimes).toFixed(0)} ms`,
        `parse+stringify baseline ${baselineList.toFixed(0)} ms; target < 200 ms`,
      ],
      [
        'full drift scan',
        `${drifted} mismatches found in ${driftScan.toFixed(0)} ms`,
        `${Math.min(100, COUNT)} guests changed their MAC`,
      ],
      [`restart to ready with ${COUNT} VMs`, `${ready.toFixed(0)} ms`, 'target < 2 s'],
    ];
    console.log(`\nbench/scale on sim, ${COUNT} VMs, ${CONCURRENCY} requests in flight\n`);
    for (const [what, figure, note] of rows)
      console.log(`${what.padEnd(36)} ${figure.padEnd(34)} ${note}`);
  } finally {
    clearInterval(sampler);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
