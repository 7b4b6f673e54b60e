// MacPool usage per range, from each pool's status (kept by the macpool-status controller) as it is in the store at
// scrape time, so every replica serves the same figures whichever one leads.
import type { MacPool } from '../resources/types.ts';
import type { Sample, Samples, ScrapedFamily } from './scrape.ts';

const RANGE_LABELS = ['pool', 'range'] as const;

export const MACPOOL_FAMILIES: readonly ScrapedFamily[] = [
  {
    name: 'harrow_macpool_range_capacity',
    help: 'Addresses a MacPool range may hand out (multicast and reserved addresses excluded), by pool and range (start-end).',
    type: 'gauge',
    labelNames: RANGE_LABELS,
  },
  {
    name: 'harrow_macpool_range_allocated',
    help: 'Addresses of a MacPool range in use (a MacAllocation InUse: held by a VM or VMI interface), by pool and range.',
    type: 'gauge',
    labelNames: RANGE_LABELS,
  },
  {
    name: 'harrow_macpool_range_quarantined',
    help: 'Released addresses of a MacPool range not yet reusable (a MacAllocation Quarantined), by pool and range.',
    type: 'gauge',
    labelNames: RANGE_LABELS,
  },
  {
    name: 'harrow_macpool_outside_ranges',
    help: 'Addresses held (in use or quarantined) outside every range of every MacPool, e.g. user-chosen MACs.',
    type: 'gauge',
    labelNames: [],
  },
];

/** The samples of MACPOOL_FAMILIES for these pools; a pool whose status is not written yet shows no series. */
export function macPoolSamples(pools: readonly MacPool[]): Samples {
  const capacity: Sample[] = [];
  const allocated: Sample[] = [];
  const quarantined: Sample[] = [];
  let outside: number | undefined;
  for (const pool of pools) {
    const status = pool.status;
    if (!status) continue;
    for (const r of status.ranges ?? []) {
      const labels = { pool: pool.metadata.name, range: `${r.start}-${r.end}` };
      capacity.push({ labels, value: r.capacity });
      allocated.push({ labels, value: r.allocated });
      quarantined.push({ labels, value: r.quarantined });
    }
    // Every pool's status carries the same cluster-wide figure.
    outside = Math.max(outside ?? 0, status.outsideRanges ?? 0);
  }
  return {
    harrow_macpool_range_capacity: capacity,
    harrow_macpool_range_allocated: allocated,
    harrow_macpool_range_quarantined: quarantined,
    harrow_macpool_outside_ranges: outside === undefined ? [] : [{ labels: {}, value: outside }],
  };
}
