// macpool-status: the counts it keeps incrementally from MacAllocation events equal a recount from the store, after a
// random mix of allocations, quarantines, releases and a range change, and each pool's status says so.
import { afterEach, beforeEach, it } from 'node:test';
import { macToNumber, numberToMac } from '../../src/mac/mac.ts';
import { usableAddresses } from '../../src/pool/index.ts';
import {
  macAllocationName,
  type MacAllocation,
  type MacPool,
  type MacPoolStatus,
} from '../../src/resources/types.ts';
import { startHarness, waitFor, type Harness } from './controllers-harness.ts';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

/** What the status must say, counted from scratch from the store. */
async function recount(name: string): Promise<MacPoolStatus> {
  const pools = (await h.store.list('MacPool')).items as MacPool[];
  const allocations = (await h.store.list('MacAllocation')).items as MacAllocation[];
  const pool = pools.find((p) => p.metadata.name === name)!;
  const within = (mac: string, r: { start: string; end: string }): boolean =>
    macToNumber(mac) >= macToNumber(r.start) && macToNumber(mac) <= macToNumber(r.end);
  const ranges = pool.spec.ranges.map((r) => ({
    start: r.start,
    end: r.end,
    capacity: usableAddresses(r),
    allocated: allocations.filter((a) => within(a.spec.macAddress, r) && a.status.state === 'InUse')
      .length,
    quarantined: allocations.filter(
      (a) => within(a.spec.macAddress, r) && a.status.state === 'Quarantined',
    ).length,
  }));
  const outsideRanges = allocations.filter(
    (a) => !pools.some((p) => p.spec.ranges.some((r) => within(a.spec.macAddress, r))),
  ).length;
  return {
    capacity: ranges.reduce((t, r) => t + r.capacity, 0),
    allocated: ranges.reduce((t, r) => t + r.allocated, 0),
    quarantined: ranges.reduce((t, r) => t + r.quarantined, 0),
    outsideRanges,
    ranges,
    observedGeneration: pool.metadata.generation!,
  };
}

const allocation = (mac: string, state: 'InUse' | 'Quarantined'): MacAllocation => ({
  apiVersion: 'harrow.io/v1',
  kind: 'MacAllocation',
  metadata: { name: macAllocationName(mac) },
  spec: {
    macAddress: mac,
    pool: '',
    owner: { kind: 'VirtualMachine', namespace: 'default', name: 'vm', interface: 'default' },
  },
  status: { state },
});

it('after 300 random allocation changes and a range change, every pool status equals a recount', async () => {
  await h.store.create({
    apiVersion: 'harrow.io/v1',
    kind: 'MacPool',
    metadata: { name: 'a' },
    spec: {
      ranges: [
        { start: '0a:00:00:00:00:00', end: '0a:00:00:00:00:3f' },
        { start: '02:00:00:00:00:00', end: '02:00:00:00:00:0f' },
      ],
    },
  } as MacPool);
  await h.store.create({
    apiVersion: 'harrow.io/v1',
    kind: 'MacPool',
    metadata: { name: 'b' },
    spec: { ranges: [{ start: '0c:00:00:00:00:00', end: '0c:00:00:00:00:1f' }] },
  } as MacPool);
  // Addresses in a's ranges, b's range and outside every range (0e:…).
  const candidates = [0x0a0000000000, 0x020000000000, 0x0c0000000000, 0x0e0000000000].flatMap(
    (base) => Array.from({ length: 24 }, (_, i) => numberToMac(base + i)),
  );
  let seed = 12345;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let step = 0; step < 300; step++) {
    const mac = candidates[random(candidates.length)]!;
    const ref = { kind: 'MacAllocation', name: macAllocationName(mac) };
    const existing = (await h.store.get(ref)) as MacAllocation | undefined;
    if (!existing) await h.store.create(allocation(mac, random(2) === 0 ? 'InUse' : 'Quarantined'));
    else if (random(3) === 0) await h.store.delete(ref);
    else {
      existing.status.state = existing.status.state === 'InUse' ? 'Quarantined' : 'InUse';
      await h.store.update(existing);
    }
    if (step === 150) {
      // A range change: b now also covers what was outside every range.
      const b = (await h.store.get({ kind: 'MacPool', name: 'b' })) as MacPool;
      b.spec.ranges.push({ start: '0e:00:00:00:00:00', end: '0e:00:00:00:00:0f' });
      await h.store.update(b);
    }
  }
  for (const name of ['a', 'b']) {
    const want = await recount(name);
    await waitFor(
      `${name} status equals the recount ${JSON.stringify(want)}`,
      async () => {
        const pool = (await h.store.get({ kind: 'MacPool', name })) as MacPool | undefined;
        return pool && JSON.stringify(pool.status) === JSON.stringify(want);
      },
      20_000,
    );
  }
});
