// Families read at scrape time: MacPool usage per range, kmp_mac_collisions as KubeMacPool counts it, and the per-VMI
// kubevirt_vmi_network_* counters from the runtime.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { macCollisions } from '../../src/metrics/mac-collisions.ts';
import { registerStoreMetrics } from '../../src/metrics/store-metrics.ts';
import { macPoolSamples } from '../../src/metrics/macpools.ts';
import { addScrapeSource } from '../../src/metrics/scrape.ts';
import type { MacPool, VirtualMachineInstance } from '../../src/resources/types.ts';
import {
  startHarness,
  vmManifest,
  waitFor,
  waitRunning,
  type Harness,
} from './controllers-harness.ts';
import { sample } from './prometheus-text.ts';

const vmi = (
  name: string,
  phase: string,
  interfaces: Array<{ mac?: string; guestMac?: string; infoSource?: string }>,
): VirtualMachineInstance =>
  ({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace: 'default' },
    spec: { domain: { devices: {} } },
    status: { phase, interfaces },
  }) as VirtualMachineInstance;

describe('scraped families', () => {
  test('show every source’s samples, read once per scrape; a removed or failing source shows nothing', async () => {
    const registry = new Registry();
    const family = { name: 'x_total', help: 'x', type: 'counter', labelNames: ['k'] } as const;
    let reads = 0;
    let value = 5;
    const removeA = addScrapeSource(
      registry,
      [family, { ...family, name: 'y', type: 'gauge' }],
      async () => {
        reads++;
        return {
          x_total: [{ labels: { k: 'a' }, value }],
          y: [{ labels: { k: 'a' }, value: 1 }],
        };
      },
    );
    const errors: unknown[] = [];
    addScrapeSource(
      registry,
      [family],
      async () => {
        throw new Error('store closed');
      },
      (e) => errors.push(e),
    );
    const removeC = addScrapeSource(registry, [family], async () => ({
      x_total: [{ labels: { k: 'c' }, value: 2 }],
    }));
    let text = await registry.metrics();
    assert.equal(reads, 1, 'two families of one source: one read');
    assert.equal(sample(text, 'x_total', { k: 'a' }), 5);
    assert.equal(sample(text, 'x_total', { k: 'c' }), 2);
    assert.equal(errors.length, 1);
    // A counter read from a device that was made anew starts again lower: the scrape shows what the source says.
    value = 3;
    text = await registry.metrics();
    assert.equal(sample(text, 'x_total', { k: 'a' }), 3);
    removeA();
    removeC();
    text = await registry.metrics();
    assert.equal(sample(text, 'x_total', { k: 'a' }), undefined);
    assert.match(text, /# TYPE x_total counter/);
  });
});

test('MacPool usage per range comes from each pool’s status; a pool without status shows no series', () => {
  const pool = (name: string, status?: MacPool['status']): MacPool =>
    ({
      apiVersion: 'harrow.io/v1',
      kind: 'MacPool',
      metadata: { name },
      spec: { ranges: [] },
      ...(status ? { status } : {}),
    }) as MacPool;
  const samples = macPoolSamples([
    pool('default', {
      capacity: 300,
      allocated: 7,
      quarantined: 2,
      outsideRanges: 1,
      ranges: [
        {
          start: '02:00:00:00:00:00',
          end: '02:00:00:00:00:ff',
          capacity: 256,
          allocated: 5,
          quarantined: 2,
        },
        {
          start: '02:00:00:00:01:00',
          end: '02:00:00:00:01:2b',
          capacity: 44,
          allocated: 2,
          quarantined: 0,
        },
      ],
    }),
    pool('fresh'),
  ]);
  assert.deepEqual(samples.harrow_macpool_range_allocated, [
    { labels: { pool: 'default', range: '02:00:00:00:00:00-02:00:00:00:00:ff' }, value: 5 },
    { labels: { pool: 'default', range: '02:00:00:00:01:00-02:00:00:00:01:2b' }, value: 2 },
  ]);
  assert.equal(samples.harrow_macpool_range_capacity?.[1]?.value, 44);
  assert.equal(samples.harrow_macpool_range_quarantined?.[0]?.value, 2);
  assert.deepEqual(samples.harrow_macpool_outside_ranges, [{ labels: {}, value: 1 }]);
  assert.deepEqual(macPoolSamples([pool('fresh')]).harrow_macpool_outside_ranges, []);
});

test('kmp_mac_collisions counts running VMIs per MAC they list (platform or guest MAC), only where two or more do', () => {
  const counts = macCollisions([
    // The guest of "a" set its NIC to b's MAC: status lists it as guestMac and as a guest-agent entry (counted once).
    vmi('a', 'Running', [
      { mac: '02:00:00:00:00:01', guestMac: '02:00:00:00:00:02' },
      { mac: '02:00:00:00:00:02', infoSource: 'guest-agent' },
    ]),
    vmi('b', 'Running', [{ mac: '02:00:00:00:00:02', guestMac: '02:00:00:00:00:02' }]),
    // Not running: KubeMacPool leaves it out, and so does Harrow.
    vmi('c', 'Succeeded', [{ mac: '02:00:00:00:00:01' }]),
    vmi('d', 'Running', [{ mac: '02:00:00:00:00:0A' }]),
    vmi('e', 'Running', [{ mac: '02:00:00:00:00:0a' }]),
  ]);
  assert.deepEqual([...counts].sort(), [
    ['02:00:00:00:00:02', 2],
    ['02:00:00:00:00:0a', 2],
  ]);
});

describe('on the sim runtime', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ pollMs: 100 });
  });
  after(async () => h.close());

  test('kubevirt_vmi_network_* count the frames each guest sent and received: DHCP at boot, then pings between guests', async () => {
    await h.store.create(vmManifest('net-a', { macs: ['02:00:00:00:30:01'] }));
    await h.store.create(vmManifest('net-b', { macs: ['02:00:00:00:30:02'] }));
    const a = await waitRunning(h, 'net-a');
    const b = await waitRunning(h, 'net-b');
    const labels = (name: string) => ({
      node: 'node-1',
      namespace: 'default',
      name,
      interface: 'default',
    });
    const read = async (name: string, metric: string): Promise<number | undefined> =>
      sample(await h.controllers.metrics.metrics(), `kubevirt_vmi_network_${metric}`, labels(name));
    // Booting ran DHCP: DISCOVER and REQUEST out, OFFER and ACK in, each a 342-byte frame.
    await waitFor(
      'DHCP counted on net-a',
      async () => (await read('net-a', 'receive_packets_total')) === 2,
    );
    assert.equal(await read('net-a', 'transmit_packets_total'), 2);
    assert.equal(await read('net-a', 'receive_bytes_total'), 2 * 342);
    const ipOfB = await waitFor('net-b has an address', async () => {
      const v = (await h.store.get({
        kind: 'VirtualMachineInstance',
        namespace: 'default',
        name: 'net-b',
      })) as VirtualMachineInstance | undefined;
      return v?.status?.interfaces?.find((i) => i.name === 'default')?.ipAddress;
    });
    const before = {
      aTx: (await read('net-a', 'transmit_bytes_total'))!,
      aRx: (await read('net-a', 'receive_packets_total'))!,
      bRx: (await read('net-b', 'receive_packets_total'))!,
    };
    const r = await h.runtime.exec(a.metadata.uid!, ['ping', '-c', '3', ipOfB]);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    // Three 98-byte echo requests (56 data bytes) out of a and into b, three replies back.
    assert.equal((await read('net-a', 'transmit_bytes_total'))! - before.aTx, 3 * 98);
    assert.equal((await read('net-a', 'receive_packets_total'))! - before.aRx, 3);
    assert.equal((await read('net-b', 'receive_packets_total'))! - before.bRx, 3);
    assert.equal(await read('net-a', 'receive_errors_total'), 0);
    assert.equal(await read('net-a', 'transmit_packets_dropped_total'), 0);
    // A stopped guest has no counters.
    await h.runtime.stopGuest(b.metadata.uid!);
    await waitFor(
      'net-b gone from the counters',
      async () => (await read('net-b', 'receive_bytes_total')) === undefined,
    );
  });

  test('kmp_mac_collisions shows a MAC once a guest takes another running VM’s MAC, and drops it when it gives it back', async () => {
    const registry = new Registry();
    registerStoreMetrics(registry, h.store);
    await h.store.create(vmManifest('col-a', { macs: ['02:00:00:00:31:01'] }));
    await h.store.create(vmManifest('col-b', { macs: ['02:00:00:00:31:02'] }));
    const a = await waitRunning(h, 'col-a');
    await waitRunning(h, 'col-b');
    const collisions = async (): Promise<number | undefined> =>
      sample(await registry.metrics(), 'kmp_mac_collisions', { mac: '02:00:00:00:31:02' });
    assert.equal(await collisions(), undefined);
    const set = (mac: string) =>
      h.runtime.exec(a.metadata.uid!, ['ip', 'link', 'set', 'eth0', 'address', mac]);
    assert.equal((await set('02:00:00:00:31:02')).exitCode, 0);
    await waitFor('the collision', async () => (await collisions()) === 2);
    assert.equal((await set('02:00:00:00:31:01')).exitCode, 0);
    await waitFor('the collision gone', async () => (await collisions()) === undefined);
  });
});
