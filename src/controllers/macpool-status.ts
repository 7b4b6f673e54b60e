// macpool-status: keeps each MacPool's status (capacity, allocated, quarantined, in total and per range, and what is
// held outside every range) current from the MacAllocations, counting incrementally and writing each pool at most once
// per burst of changes.
import { RangeLocator, usableAddresses, type RangeSlot } from '../pool/index.ts';
import type { MacAllocation, MacPool, MacPoolStatus } from '../resources/types.ts';
import type { ControllerContext } from './context.ts';
import { changed, type Result } from './framework.ts';
import { updateWithRetry } from './optimistic-update.ts';

type State = 'InUse' | 'Quarantined';

interface Held {
  slot: RangeSlot | undefined;
  state: State;
}

interface Counts {
  allocated: number[];
  quarantined: number[];
}

const rangesOf = (p: MacPool): string => JSON.stringify(p.spec?.ranges ?? []);
const stateOf = (a: MacAllocation): State =>
  a.status?.state === 'Quarantined' ? 'Quarantined' : 'InUse';

export function macPoolStatusController(ctx: ControllerContext): void {
  const pools = ctx.manager.informer<MacPool>('MacPool');
  const allocations = ctx.manager.informer<MacAllocation>('MacAllocation');
  let locator = new RangeLocator([]);
  // Per allocation (by name) where it was counted, so a change moves one count rather than recounting the pool.
  const held = new Map<string, Held>();
  const counts = new Map<string, Counts>();
  let outsideRanges = 0;
  // Range capacities by the ranges' JSON: computing one walks the range's first octets, not worth repeating per write.
  const capacities = new Map<string, number[]>();

  const controller = ctx.manager.controller({
    name: 'macpool-status',
    concurrency: 1,
    reconcile,
  });

  const countsOf = (pool: string): Counts | undefined => counts.get(pool);
  const add = (h: Held, by: number): void => {
    if (!h.slot) {
      outsideRanges += by;
      // Every pool shows the cluster-wide figure.
      for (const p of pools.values()) controller.enqueue(p.metadata.name);
      return;
    }
    const c = countsOf(h.slot.pool);
    if (!c) return;
    const list = h.state === 'InUse' ? c.allocated : c.quarantined;
    list[h.slot.range] = (list[h.slot.range] ?? 0) + by;
    controller.enqueue(h.slot.pool);
  };
  const forget = (name: string): void => {
    const h = held.get(name);
    if (!h) return;
    held.delete(name);
    add(h, -1);
  };
  const count = (a: MacAllocation): void => {
    forget(a.metadata.name);
    const h: Held = { slot: safeLocate(a.spec?.macAddress), state: stateOf(a) };
    held.set(a.metadata.name, h);
    add(h, 1);
  };
  const safeLocate = (mac: string | undefined): RangeSlot | undefined => {
    try {
      return mac ? locator.locate(mac) : undefined;
    } catch {
      return undefined; // a stored MAC that does not parse belongs to no range
    }
  };

  /** A pool's ranges changed (or a pool came or went): place every allocation again. Rare, so a full pass is fine. */
  const recount = (): void => {
    locator = new RangeLocator(
      [...pools.values()].map((p) => ({ name: p.metadata.name, ranges: p.spec?.ranges ?? [] })),
    );
    counts.clear();
    for (const p of pools.values()) {
      const n = p.spec?.ranges?.length ?? 0;
      counts.set(p.metadata.name, {
        allocated: new Array<number>(n).fill(0),
        quarantined: new Array<number>(n).fill(0),
      });
    }
    held.clear();
    outsideRanges = 0;
    for (const a of allocations.values()) {
      const h: Held = { slot: safeLocate(a.spec?.macAddress), state: stateOf(a) };
      held.set(a.metadata.name, h);
      if (!h.slot) outsideRanges++;
      else {
        const c = counts.get(h.slot.pool);
        if (c) (h.state === 'InUse' ? c.allocated : c.quarantined)[h.slot.range]! += 1;
      }
    }
    for (const p of pools.values()) controller.enqueue(p.metadata.name);
  };

  pools.onEvent((e) => {
    if (changed(e, rangesOf)) recount();
    else controller.enqueue(e.object.metadata.name); // e.g. someone wrote over the status
  });
  allocations.onEvent((e) => {
    if (e.type === 'DELETED') forget(e.object.metadata.name);
    else if (changed(e, (a) => `${a.spec?.macAddress}|${stateOf(a)}`)) count(e.object);
  });

  function capacitiesOf(pool: MacPool): number[] {
    const key = rangesOf(pool);
    let c = capacities.get(key);
    if (!c) {
      c = (pool.spec?.ranges ?? []).map((r) => {
        try {
          return usableAddresses(r);
        } catch {
          return 0; // a range admission would refuse today, stored before the rule
        }
      });
      if (capacities.size > 256) capacities.clear();
      capacities.set(key, c);
    }
    return c;
  }

  async function reconcile(name: string): Promise<Result> {
    const pool = pools.get(name);
    if (!pool) return {};
    const status = statusOf(pool);
    if (JSON.stringify(pool.status ?? {}) === JSON.stringify(status)) return {};
    await updateWithRetry<MacPool>(
      ctx.store,
      { kind: 'MacPool', name },
      (p) => {
        const next = statusOf(p);
        if (JSON.stringify(p.status ?? {}) === JSON.stringify(next)) return false;
        p.status = next;
        return true;
      },
      { expectUid: pool.metadata.uid ?? '' },
    );
    return {};
  }

  function statusOf(pool: MacPool): MacPoolStatus {
    const capacity = capacitiesOf(pool);
    const c = counts.get(pool.metadata.name);
    const ranges = (pool.spec?.ranges ?? []).map((r, i) => ({
      start: r.start,
      end: r.end,
      capacity: capacity[i] ?? 0,
      allocated: c?.allocated[i] ?? 0,
      quarantined: c?.quarantined[i] ?? 0,
    }));
    const sum = (f: (r: (typeof ranges)[number]) => number): number =>
      ranges.reduce((t, r) => t + f(r), 0);
    return {
      capacity: sum((r) => r.capacity),
      allocated: sum((r) => r.allocated),
      quarantined: sum((r) => r.quarantined),
      outsideRanges,
      ranges,
      ...(pool.metadata.generation !== undefined
        ? { observedGeneration: pool.metadata.generation }
        : {}),
    };
  }
}
