// What the MAC pool page derives from a MacPool: usage bar widths that stay visible at millions of addresses, whether
// the status is behind the spec, and where the admission's answer to a range edit belongs on the form.
import type { ApiError } from '../api/client.ts';
import type { MacPool, MacRange } from '../../../src/resources/types.ts';

/** Below this share of the bar a nonzero count still gets this much, so one address in 16 M is not an empty bar. */
export const MIN_VISIBLE_PERCENT = 1.5;

export interface UsageWidths {
  /** Bar widths in percent of the whole bar; nonzero counts get at least MIN_VISIBLE_PERCENT. */
  inUse: number;
  quarantined: number;
}

export function usageWidths(capacity: number, inUse: number, quarantined: number): UsageWidths {
  const width = (n: number): number => {
    if (n <= 0) return 0;
    if (capacity <= 0) return 100;
    return Math.min(100, Math.max(MIN_VISIBLE_PERCENT, (100 * n) / capacity));
  };
  const a = width(inUse);
  const q = width(quarantined);
  // Both minimums together must not push the bar past its end.
  return a + q > 100 ? { inUse: a, quarantined: 100 - a } : { inUse: a, quarantined: q };
}

/** "0.0006 %", "12 %": a share of the pool people can read, never rounded to 0 when something is used. */
export function shareText(capacity: number, used: number): string {
  if (capacity <= 0 || used <= 0) return '0 %';
  const p = (100 * used) / capacity;
  if (p >= 10) return `${Math.round(p)} %`;
  if (p >= 0.01) return `${Number(p.toFixed(2))} %`;
  return `${Number(p.toPrecision(1))} %`;
}

/** The status has not caught up with the last spec change (or was never written): its figures are the old ones. */
export function statusBehind(pool: MacPool): boolean {
  const s = pool.status;
  if (!s) return true;
  const generation = pool.metadata.generation;
  return (
    generation !== undefined &&
    (s.observedGeneration === undefined || s.observedGeneration < generation)
  );
}

export interface RangeRow {
  start: string;
  end: string;
}

export interface PlacedRangeErrors {
  /** Message per row index, for that row's Start field. */
  start: Map<number, string>;
  end: Map<number, string>;
  /** About the row as a whole (overlap, no usable address). */
  range: Map<number, string>;
  /** What names no row (e.g. spec.ranges itself), or the message when no cause names a field. */
  general: string | undefined;
}

const RANGE_FIELD = /^spec\.ranges\[(\d+)\](?:\.(start|end))?$/;

/** Causes naming `spec.ranges[i].start`, `.end` or `spec.ranges[i]` go to row i's field; the rest is general. */
export function placeRangeErrors(error: ApiError, rows: number): PlacedRangeErrors {
  const placed: PlacedRangeErrors = {
    start: new Map(),
    end: new Map(),
    range: new Map(),
    general: undefined,
  };
  const rest: string[] = [];
  for (const c of error.causes) {
    const m = c.field ? RANGE_FIELD.exec(c.field) : null;
    const i = m ? Number(m[1]) : -1;
    if (m && i < rows) {
      const into = m[2] === 'start' ? placed.start : m[2] === 'end' ? placed.end : placed.range;
      into.set(i, into.has(i) ? `${into.get(i)} ${c.message}` : c.message);
    } else {
      rest.push(c.field ? `${c.field}: ${c.message}` : c.message);
    }
  }
  const anyPlaced = placed.start.size + placed.end.size + placed.range.size > 0;
  if (!anyPlaced) placed.general = [error.message, ...rest].join(' ');
  else if (rest.length > 0) placed.general = rest.join(' ');
  return placed;
}

/** The rows as the spec's ranges, trimmed; the server canonicalizes the notation. */
export function rangesOf(rows: RangeRow[]): MacRange[] {
  return rows.map((r) => ({ start: r.start.trim(), end: r.end.trim() }));
}
