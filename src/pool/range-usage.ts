// What a pool's ranges hold: each range's usable addresses, and which range of which pool an address falls in.

import { MASQUERADE_BRIDGE_MAC_NUMBER, macToNumber } from '../mac/mac.ts';
import { AddressSpace, type MacRange } from './address-space.ts';

/** Addresses no pool hands out although a range may cover them: KubeVirt's masquerade bridge address and all-zero. */
export const ALWAYS_EXCLUDED: readonly number[] = [MASQUERADE_BRIDGE_MAC_NUMBER, 0];

/** How many addresses of `range` a pool can hand out: multicast and always-excluded addresses do not count. */
export function usableAddresses(range: MacRange): number {
  return new AddressSpace([range], ALWAYS_EXCLUDED).size;
}

/** Where an address sits: a pool (by name) and the index of the range in its spec. */
export interface RangeSlot {
  pool: string;
  range: number;
}

interface Bounds extends RangeSlot {
  first: number;
  last: number;
}

/**
 * Finds the range holding an address in O(log ranges). Ranges of different pools do not overlap (MacPool admission
 * refuses it); should they anyway (pools written before that rule), the one starting later wins.
 */
export class RangeLocator {
  private readonly bounds: Bounds[];

  constructor(pools: ReadonlyArray<{ name: string; ranges: readonly MacRange[] }>) {
    this.bounds = pools
      .flatMap((p) =>
        p.ranges.map((r, range) => ({
          pool: p.name,
          range,
          first: macToNumber(r.start),
          last: macToNumber(r.end),
        })),
      )
      .filter((b) => b.first <= b.last)
      .sort((a, b) => a.first - b.first);
  }

  locate(mac: string | number): RangeSlot | undefined {
    const value = typeof mac === 'number' ? mac : macToNumber(mac);
    let low = 0;
    let high = this.bounds.length - 1;
    if (high < 0) return undefined;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (this.bounds[middle]!.first <= value) low = middle;
      else high = middle - 1;
    }
    const b = this.bounds[low]!;
    return value >= b.first && value <= b.last ? { pool: b.pool, range: b.range } : undefined;
  }
}
