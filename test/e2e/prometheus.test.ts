// Debian's Prometheus scrapes `harrow serve` (TLS with the CA it made, the admin token as bearer) and PromQL through
// Prometheus' HTTP API returns the MacPool usage, a reconcile-duration quantile and a guest NIC's packet counter.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MacPool } from '../../src/resources/types.ts';
import { filled, queries as dashboardQueries } from '../unit/grafana-queries.ts';
import { NS, bridgeNetwork, runningVmi, virtualMachine } from './fixtures.ts';
import { startServer, waitFor, type HarrowServer } from './harness.ts';

const PROMETHEUS = 'prometheus';

/** Why this test cannot run here; in CI (CI=true) Prometheus must be installed, so the test runs and fails instead. */
function prometheusMissing(): string | undefined {
  try {
    execFileSync(PROMETHEUS, ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    if (process.env.CI === 'true') return undefined;
    return 'the prometheus binary is not on PATH (apt-get install prometheus; scripts/setup installs it)';
  }
}

/** A port nothing listens on now, on loopback. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', resolve);
  });
  const address = s.address();
  await new Promise((resolve) => s.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface PromVector {
  status: string;
  data: {
    resultType: string;
    result: Array<{ metric: Record<string, string>; value: [number, string] }>;
  };
  error?: string;
}

describe('Prometheus scrapes harrow serve', { skip: prometheusMissing() ?? false }, () => {
  let server: HarrowServer | undefined;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = '';
  let exited: Promise<void> = Promise.resolve();
  let dir = '';
  let api = '';

  const killGroup = (signal: NodeJS.Signals): void => {
    if (!prometheus?.pid || prometheus.exitCode !== null || prometheus.signalCode !== null) return;
    try {
      process.kill(-prometheus.pid, signal);
    } catch {
      // already gone
    }
  };
  // A run that dies before `after` still leaves no Prometheus behind.
  const onExit = (): void => killGroup('SIGKILL');
  process.on('exit', onExit);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'harrow-prometheus-'));
    server = await startServer({ runtime: 'sim', args: ['--tls', 'auto'] });
    assert.match(server.url, /^https:/, 'serve defaults to TLS');
    const target = new URL(server.url).host;
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, server.token, { mode: 0o600 });
    // JSON is YAML: Prometheus reads this config as is.
    const config = {
      // Short, but with room for a slow scrape on a busy host (a failed scrape marks every series stale).
      global: { scrape_interval: '2s', scrape_timeout: '2s', evaluation_interval: '2s' },
      scrape_configs: [
        {
          job_name: 'harrow',
          scheme: 'https',
          metrics_path: '/metrics',
          tls_config: { ca_file: join(server.dataDir, 'pki', 'ca.crt') },
          authorization: { type: 'Bearer', credentials_file: tokenFile },
          static_configs: [{ targets: [target] }],
        },
      ],
    };
    writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const child = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    prometheus = child;
    exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const append = (d: string): void => {
      prometheusLog = (prometheusLog + d).slice(-50_000);
    };
    child.stdout!.setEncoding('utf8').on('data', append);
    child.stderr!.setEncoding('utf8').on('data', append);
    await waitFor(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`prometheus exited (${child.exitCode}):\n${prometheusLog}`);
        return (await fetch(`${api}/-/ready`)).ok;
      },
      { timeoutMs: 60_000, message: `prometheus ready on ${api}` },
    );
  });

  after(async () => {
    killGroup('SIGTERM');
    const timer = setTimeout(() => killGroup('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    process.off('exit', onExit);
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const query = async (promql: string): Promise<PromVector['data']['result']> => {
    const r = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await r.json()) as PromVector;
    assert.equal(body.status, 'success', `${promql}: ${body.error ?? ''}`);
    assert.equal(body.data.resultType, 'vector', promql);
    return body.data.result;
  };
  /** The value of a query that returns one series, undefined while it returns none. */
  const scalar = async (promql: string): Promise<number | undefined> => {
    const result = await query(promql);
    assert.ok(result.length <= 1, `${promql}: one series expected, got ${JSON.stringify(result)}`);
    return result[0] === undefined ? undefined : Number(result[0].value[1]);
  };
  const poll = { timeoutMs: 120_000, intervalMs: 500 };
  /** The value of a one-series query once `ok` holds for it. */
  const until = (promql: string, ok: (v: number) => boolean): Promise<number> =>
    waitFor(
      async () => {
        const v = await scalar(promql);
        return v !== undefined && ok(v) ? { v } : undefined;
      },
      { ...poll, message: promql },
    ).then((r) => r.v);

  test('the target is up: the scrape passes TLS with Harrow’s CA and the bearer token', async () => {
    await waitFor(
      async () => {
        const r = (await (await fetch(`${api}/api/v1/targets`)).json()) as {
          data: { activeTargets: Array<{ health: string; lastError: string }> };
        };
        const t = r.data.activeTargets[0];
        return t?.health === 'up' ? t : undefined;
      },
      { ...poll, message: `harrow target up\n${prometheusLog}` },
    );
    await until('up{job="harrow"}', (v) => v === 1);
    // Node.js process metrics come along.
    await until('process_resident_memory_bytes{job="harrow"}', (v) => v > 0);
  });

  test('PromQL returns the pool usage, a reconcile-duration quantile and a sim guest’s NIC packets', async () => {
    // No MAC in the manifest: the default pool gives one, so it counts in a range's usage.
    await server!.client.create(
      'NetworkAttachmentDefinition',
      { namespace: NS },
      bridgeNetwork('lan', 77),
    );
    await server!.client.create('VirtualMachine', { namespace: NS }, virtualMachine('prom-vm'));
    const vmi = await waitFor(() => runningVmi(server!.client, 'prom-vm'), {
      ...poll,
      message: 'prom-vm running with an address',
    });
    assert.equal(vmi.status?.phase, 'Running');

    // Pool usage: what Prometheus stored equals what the MacPool's status says, and counts the VM's MAC.
    const used = await waitFor(
      async () => {
        const pool = await server!.client.get<MacPool>('MacPool', { name: 'default' });
        const allocated = pool.status?.allocated;
        const scraped = await scalar('sum(harrow_macpool_range_allocated{pool="default"})');
        return allocated !== undefined && allocated >= 1 && scraped === allocated
          ? scraped
          : undefined;
      },
      { ...poll, message: 'harrow_macpool_range_allocated in Prometheus matching the pool status' },
    );
    const ratio = await until(
      'sum(harrow_macpool_range_allocated{pool="default"}) / sum(harrow_macpool_range_capacity{pool="default"})',
      (v) => v > 0,
    );
    assert.ok(ratio <= 1, `usage ratio ${ratio} (${used} used)`);

    // The vm controller's 90th percentile reconcile time, from its histogram buckets.
    const p90 = await until(
      'histogram_quantile(0.9, sum by (le) (controller_runtime_reconcile_time_seconds_bucket{controller="vm"}))',
      Number.isFinite,
    );
    assert.ok(p90 > 0 && p90 <= 60, `p90 ${p90}s within the buckets (5 ms … 60 s)`);

    // The guest's DHCP at boot: DISCOVER and REQUEST out, OFFER and ACK in.
    await until(
      'kubevirt_vmi_network_receive_packets_total{namespace="default",name="prom-vm",interface="default"}',
      (v) => v >= 2,
    );
    await until(
      'kubevirt_vmi_network_transmit_packets_total{namespace="default",name="prom-vm",interface="default"}',
      (v) => v >= 2,
    );
  });

  test('every query of the Grafana dashboard evaluates in this Prometheus', async () => {
    for (const q of dashboardQueries())
      await query(filled(q.expr)).catch((e: Error) => {
        throw new Error(`${q.where}: ${e.message}`);
      });
    // The pool panel shows the default pool's range.
    const usage = dashboardQueries().find((q) => q.where.startsWith('Pool usage per range'))!;
    const [range] = await waitFor(
      async () => {
        const r = await query(filled(usage.expr));
        return r.length > 0 ? r : undefined;
      },
      { ...poll, message: usage.where },
    );
    assert.equal(range?.metric.pool, 'default');
    assert.ok(Number(range?.value[1]) > 0);
  });
});
