// deploy/grafana/harrow.json: every PromQL expression parses (Prometheus' own promtool, and its lezer grammar) and names
// only metrics that `harrow serve` exports, and the dashboard has panels for every family issue 18 asks for.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parser } from '@prometheus-io/lezer-promql';
import { startScrapedHarrow, type ScrapedHarrow } from './harrow-scrape.ts';
import { filled, queries, type Query } from './grafana-queries.ts';
import { parseScrape, seriesNames } from './prometheus-text.ts';

/** The metric names an expression selects, by Prometheus' lezer grammar; throws where it does not parse. */
function metricNames(expr: string): string[] {
  const names: string[] = [];
  const tree = parser.parse(expr);
  tree.iterate({
    enter(node) {
      if (node.type.isError) throw new Error(`${expr}: parse error at ${node.from}`);
      if (node.name !== 'VectorSelector') return;
      const id = node.node.getChild('Identifier');
      if (!id) throw new Error(`${expr}: a selector without a metric name at ${node.from}`);
      names.push(expr.slice(id.from, id.to));
    },
  });
  return names;
}

function promtoolMissing(): string | undefined {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    if (process.env.CI === 'true') return undefined;
    return 'promtool is not on PATH (apt-get install prometheus; scripts/setup installs it)';
  }
}

/** `promtool check rules` on one recording rule per expression: Prometheus' own parser, offline. */
async function promtoolCheck(exprs: Query[]): Promise<{ ok: boolean; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'harrow-dashboard-'));
  try {
    const rules = exprs.map((q, i) => ({ record: `dashboard:query_${i}`, expr: filled(q.expr) }));
    const file = join(dir, 'rules.yml'); // JSON is YAML
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
    try {
      const r = await promisify(execFile)('promtool', ['check', 'rules', file]);
      return { ok: true, output: r.stdout + r.stderr };
    } catch (e) {
      const f = e as { stdout?: string; stderr?: string };
      return { ok: false, output: `${f.stdout ?? ''}${f.stderr ?? ''}` };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('metric names are read from selectors, not from functions, labels, modifiers or strings', () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.9, sum by (le, code) (rate(a_bucket{code=~"b|c"}[5m]))) / on (code) group_left b_total offset 1m',
    ),
    ['a_bucket', 'b_total'],
  );
  assert.throws(() => metricNames('sum(rate(a_total[5m])'), /parse error/);
  assert.throws(() => metricNames('{__name__="a_total"}'), /without a metric name/);
});

test(
  'promtool parses every expression of the dashboard',
  { skip: promtoolMissing() ?? false },
  async () => {
    const all = queries();
    const r = await promtoolCheck(all);
    assert.ok(r.ok, r.output);
    assert.match(r.output, new RegExp(`SUCCESS: ${all.length} rules found`));
    // The same check refuses a broken expression: it is no formality.
    const broken = await promtoolCheck([{ where: 'broken', expr: 'sum(rate(x_total[5m])' }]);
    assert.equal(broken.ok, false);
    assert.match(broken.output, /unclosed left parenthesis/);
  },
);

describe('against harrow serve', () => {
  let h: ScrapedHarrow;
  let exported: Set<string>;
  before(async () => {
    h = await startScrapedHarrow();
    exported = seriesNames(parseScrape((await h.scrape()).body));
  });
  after(async () => h?.close());

  test('every metric the dashboard names is one Harrow exports', () => {
    const unknown: string[] = [];
    for (const q of queries())
      for (const name of metricNames(filled(q.expr)))
        if (!exported.has(name)) unknown.push(`${q.where}: ${name}`);
    assert.deepEqual(unknown, []);
    // And a name Harrow does not export would be caught.
    assert.equal(exported.has('harrow_macpool_range_used'), false);
  });

  test('there is a panel for every family issue 18 lists', () => {
    const named = new Set(queries().flatMap((q) => metricNames(filled(q.expr))));
    for (const family of [
      'apiserver_request_total',
      'apiserver_request_duration_seconds_bucket',
      'controller_runtime_reconcile_time_seconds_bucket',
      'workqueue_depth',
      'harrow_macpool_range_capacity',
      'harrow_macpool_range_allocated',
      'harrow_macpool_range_quarantined',
      'harrow_guest_mac_mismatch',
      'harrow_connectivity_checks_total',
      'kmp_mac_collisions',
      'harrow_mac_conflict_refusals_total',
      'kubevirt_vmi_network_receive_bytes_total',
      'kubevirt_vmi_network_transmit_packets_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ])
      assert.ok(named.has(family), `a panel names ${family}`);
  });
});
