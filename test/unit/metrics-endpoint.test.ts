// GET /metrics scraped and parsed as Prometheus reads it: every family Harrow exports, request latency by verb and
// resource, and writes refused because their MAC belongs to another VM.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { virtualMachineAdmission } from '../../src/apiserver/admission/virtualmachine.ts';
import { MacAllocationService } from '../../src/allocation/service.ts';
import { metricsPlugin } from '../../src/server/metrics.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';
import { VMS, startServer, vmManifest, type Harness } from './apiserver-harness.ts';
import { startScrapedHarrow, type ScrapedHarrow } from './harrow-scrape.ts';
import { parseScrape, sample } from './prometheus-text.ts';

/** What issue 18 asks Harrow to export, by family and type (a histogram's series are its _bucket, _sum and _count). */
const EXPORTED: Record<string, string> = {
  // Requests, by verb and resource.
  apiserver_request_total: 'counter',
  apiserver_request_duration_seconds: 'histogram',
  apiserver_current_inflight_requests: 'gauge',
  // Reconcile duration and workqueue depth per controller.
  controller_runtime_reconcile_total: 'counter',
  controller_runtime_reconcile_errors_total: 'counter',
  controller_runtime_reconcile_time_seconds: 'histogram',
  controller_runtime_active_workers: 'gauge',
  controller_runtime_max_concurrent_reconciles: 'gauge',
  workqueue_depth: 'gauge',
  workqueue_adds_total: 'counter',
  workqueue_retries_total: 'counter',
  // Pool capacity, used and quarantined per range.
  harrow_macpool_range_capacity: 'gauge',
  harrow_macpool_range_allocated: 'gauge',
  harrow_macpool_range_quarantined: 'gauge',
  harrow_macpool_outside_ranges: 'gauge',
  // Guest MAC mismatches, connectivity checks by outcome, MAC collisions and refusals.
  harrow_guest_mac_mismatch: 'gauge',
  harrow_connectivity_checks_total: 'counter',
  kmp_mac_collisions: 'gauge',
  harrow_mac_conflict_refusals_total: 'counter',
  // Per-VMI network counters in KubeVirt's names.
  kubevirt_vmi_network_receive_bytes_total: 'counter',
  kubevirt_vmi_network_transmit_bytes_total: 'counter',
  kubevirt_vmi_network_receive_packets_total: 'counter',
  kubevirt_vmi_network_transmit_packets_total: 'counter',
  kubevirt_vmi_network_receive_errors_total: 'counter',
  kubevirt_vmi_network_transmit_errors_total: 'counter',
  kubevirt_vmi_network_receive_packets_dropped_total: 'counter',
  kubevirt_vmi_network_transmit_packets_dropped_total: 'counter',
  // Node.js process metrics (prom-client's defaults).
  process_cpu_user_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  process_open_fds: 'gauge',
  process_start_time_seconds: 'gauge',
  nodejs_heap_size_used_bytes: 'gauge',
  nodejs_eventloop_lag_seconds: 'gauge',
  nodejs_gc_duration_seconds: 'histogram',
};

describe('harrow serve’s /metrics', () => {
  let h: ScrapedHarrow;
  before(async () => {
    h = await startScrapedHarrow();
  });
  after(async () => h?.close());

  test('exports every family the issue lists, with its type, in a text Prometheus parses', async () => {
    const r = await h.scrape();
    assert.equal(r.status, 200);
    assert.match(r.contentType, /^text\/plain; version=0\.0\.4/);
    const { types, samples } = parseScrape(r.body);
    for (const [name, type] of Object.entries(EXPORTED))
      assert.equal(types.get(name), type, `${name} exported as a ${type}`);
    // The MacPool the server makes at start shows its range at once.
    assert.ok(
      samples.some((s) => s.name === 'harrow_macpool_range_capacity' && s.value > 0),
      'the default pool’s range capacity',
    );
    assert.ok(sample(r.body, 'process_resident_memory_bytes', {})! > 0);
  });

  test('needs a token that may read it', async () => {
    assert.equal((await h.scrape('')).status, 401);
    assert.equal((await h.scrape('not-a-token')).status, 401);
  });
});

describe('request metrics as scraped', () => {
  let h: Harness;
  let store: SqliteStore;
  let macs: MacAllocationService;
  before(async () => {
    store = await openSqliteStore(':memory:');
    macs = await MacAllocationService.open(store);
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    h = await startServer({
      store,
      admission: [virtualMachineAdmission(store, macs)],
      metrics: registry,
      plugins: [metricsPlugin(registry)],
    });
  });
  after(async () => {
    await h.close();
    macs.close();
    await store.close();
  });

  const scrape = async (): Promise<string> => {
    const r = await h.request('GET', '/metrics');
    assert.equal(r.status, 200);
    return r.body;
  };
  const vmWithMac = (name: string, macAddress: string) =>
    vmManifest(name, {
      template: {
        spec: {
          domain: {
            devices: { interfaces: [{ name: 'default', masquerade: {}, macAddress }] },
            memory: { guest: '128Mi' },
          },
          networks: [{ name: 'default', pod: {} }],
        },
      },
    });
  const kubevirt = { group: 'kubevirt.io', version: 'v1', resource: 'virtualmachines' };

  test('latency histograms by verb, resource and scope, as kube-apiserver labels them', async () => {
    assert.equal((await h.request('POST', VMS, vmWithMac('lat', '02:00:00:00:60:01'))).status, 201);
    assert.equal((await h.request('GET', VMS)).status, 200);
    assert.equal((await h.request('GET', `${VMS}/lat`)).status, 200);
    assert.equal((await h.request('GET', `${VMS}/lat`)).status, 200);
    const text = await scrape();
    const count = (verb: string, scope: string) =>
      sample(text, 'apiserver_request_duration_seconds_count', {
        ...kubevirt,
        subresource: '',
        verb,
        scope,
      });
    assert.equal(count('POST', 'namespace'), 1);
    assert.equal(count('LIST', 'namespace'), 1);
    assert.equal(count('GET', 'resource'), 2);
    // Buckets are cumulative and end in +Inf, which holds every request.
    const buckets = parseScrape(text).samples.filter(
      (s) =>
        s.name === 'apiserver_request_duration_seconds_bucket' &&
        s.labels.verb === 'GET' &&
        s.labels.resource === 'virtualmachines',
    );
    assert.equal(buckets.at(-1)?.labels.le, '+Inf');
    assert.equal(buckets.at(-1)?.value, 2);
    assert.ok(buckets.every((b, i) => i === 0 || b.value >= buckets[i - 1]!.value));
    assert.equal(
      sample(text, 'apiserver_request_total', { ...kubevirt, verb: 'GET', code: '200' }),
      2,
    );
  });

  test('a write refused because its MAC is another VM’s counts in harrow_mac_conflict_refusals_total; other 409s do not', async () => {
    const refusals = async () =>
      sample(await scrape(), 'harrow_mac_conflict_refusals_total', {
        resource: 'virtualmachines',
      });
    assert.equal(await refusals(), undefined);
    assert.equal((await h.request('POST', VMS, vmWithMac('a', '02:00:00:00:61:01'))).status, 201);
    const taken = await h.request('POST', VMS, vmWithMac('b', '02:00:00:00:61:01'));
    assert.equal(taken.status, 409, taken.body);
    assert.equal(await refusals(), 1);
    // The same name again: a 409 AlreadyExists, about no MAC.
    const again = await h.request('POST', VMS, vmWithMac('a', '02:00:00:00:61:02'));
    assert.equal(again.status, 409, again.body);
    assert.equal(again.json.reason, 'AlreadyExists');
    assert.equal(await refusals(), 1);
    const text = await scrape();
    assert.equal(
      sample(text, 'apiserver_request_total', { ...kubevirt, verb: 'POST', code: '409' }),
      2,
    );
  });
});
