// The allocatable addresses of a pool's ranges, numbered 0..size-1: multicast and excluded addresses are cut out.

import { MacError, macToNumber, numberToMac } from '../mac/mac.ts';
import { PoolConfigError } from './errors.ts';

export interface MacRange {
  start: string;
  end: string;
}

interface Segment {
  first: number; // MAC number, inclusive
  last: number; // MAC number, inclusive
  offset: number; // index of `first`
}

const FIRST_OCTET = 2 ** 40;

function parseField(text: string, field: string): number {
  try {
    return macToNumber(text);
  } catch (error) {
    if (error instanceof MacError) throw new PoolConfigError(field, error.message);
    throw error;
  }
}

export class AddressSpace {
  readonly size: number;
  private readonly segments: readonly Segment[];

  /** `excluded` holds MAC numbers the pool must never hand out even though a range covers them. */
  constructor(ranges: readonly MacRange[], excluded: readonly number[]) {
    if (ranges.length === 0) throw new PoolConfigError('ranges', 'a pool needs at least one range');
    const parsed = ranges.map((range, i) => {
      const first = parseField(range.start, `ranges[${i}].start`);
      const last = parseField(range.end, `ranges[${i}].end`);
      if (first > last)
        throw new PoolConfigError(
          `ranges[${i}]`,
          `start ${numberToMac(first)} is after end ${numberToMac(last)}`,
        );
      return { first, last, i };
    });
    parsed.sort((x, y) => x.first - y.first);
    for (let k = 1; k < parsed.length; k++) {
      const previous = parsed[k - 1]!;
      const current = parsed[k]!;
      if (current.first <= previous.last) {
        throw new PoolConfigError(
          `ranges[${current.i}]`,
          `overlaps ranges[${previous.i}] (${numberToMac(previous.first)}–${numberToMac(previous.last)}); each address may belong to one range only`,
        );
      }
    }
    // Multicast addresses (odd first octet) can never be a NIC's address, so they are not part of the space.
    const unicast: Array<[number, number]> = [];
    for (const { first, last } of parsed) {
      for (
        let octet = Math.floor(first / FIRST_OCTET);
        octet <= Math.floor(last / FIRST_OCTET);
        octet++
      ) {
        if (octet % 2 === 1) continue;
        const low = Math.max(first, octet * FIRST_OCTET);
        const high = Math.min(last, (octet + 1) * FIRST_OCTET - 1);
        if (low <= high) unicast.push([low, high]);
      }
    }
    const holes = [...new Set(excluded)].sort((x, y) => x - y);
    const segments: Segment[] = [];
    let offset = 0;
    let h = 0;
    for (const [low, high] of unicast) {
      let first = low;
      while (h < holes.length && holes[h]! < first) h++;
      while (h < holes.length && holes[h]! <= high) {
        const hole = holes[h++]!;
        if (hole > first) {
          segments.push({ first, last: hole - 1, offset });
          offset += hole - first;
        }
        first = hole + 1;
      }
      if (first <= high) {
        segments.push({ first, last: high, offset });
        offset += high - first + 1;
      }
    }
    this.segments = segments;
    this.size = offset;
  }

  /** The MAC number at `index` (0 <= index < size). */
  macAt(index: number): number {
    const segments = this.segments;
    let low = 0;
    let high = segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (segments[middle]!.offset <= index) low = middle;
      else high = middle - 1;
    }
    const segment = segments[low]!;
    return segment.first + (index - segment.offset);
  }

  /** The index of a MAC number, or -1 when the pool cannot hand it out (outside every range, multicast, excluded). */
  indexOf(mac: number): number {
    const segments = this.segments;
    let low = 0;
    let high = segments.length - 1;
    if (high < 0) return -1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (segments[middle]!.first <= mac) low = middle;
      else high = middle - 1;
    }
    const segment = segments[low]!;
    return mac >= segment.first && mac <= segment.last
      ? segment.offset + (mac - segment.first)
      : -1;
  }
}
