// What the MAC pool page derives from a MacPool: visible usage at millions of addresses, status lag, error placement.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MacPool } from '../../src/resources/types.ts';
import { ApiError } from '../../web/src/api/client.ts';
import {
  MIN_VISIBLE_PERCENT,
  placeRangeErrors,
  shareText,
  statusBehind,
  usageWidths,
} from '../../web/src/model/pool.ts';

const SIXTEEN_M = 16_777_214;

describe('pool usage bar', () => {
  it('one address in 16 M still gets a visible width; nothing used gets none', () => {
    assert.deepEqual(usageWidths(SIXTEEN_M, 1, 0), { inUse: MIN_VISIBLE_PERCENT, quarantined: 0 });
    assert.deepEqual(usageWidths(SIXTEEN_M, 0, 0), { inUse: 0, quarantined: 0 });
    assert.deepEqual(usageWidths(100, 50, 25), { inUse: 50, quarantined: 25 });
  });

  it('never runs past the end of the bar', () => {
    const w = usageWidths(100, 99, 1);
    assert.ok(w.inUse + w.quarantined <= 100, JSON.stringify(w));
    assert.ok(w.quarantined > 0);
    assert.deepEqual(usageWidths(0, 3, 0), { inUse: 100, quarantined: 0 });
  });

  it('the share as text is never rounded to zero when something is used', () => {
    assert.equal(shareText(SIXTEEN_M, 0), '0 %');
    assert.equal(shareText(SIXTEEN_M, 1), '0.000006 %');
    assert.equal(shareText(1000, 1), '0.1 %');
    assert.equal(shareText(4, 3), '75 %');
  });
});

describe('pool status lag', () => {
  const pool = (
    generation: number | undefined,
    observed: number | undefined,
    status = true,
  ): MacPool => ({
    apiVersion: 'harrow.io/v1',
    kind: 'MacPool',
    metadata: { name: 'p', ...(generation !== undefined ? { generation } : {}) },
    spec: { ranges: [{ start: '02:00:00:00:00:01', end: '02:00:00:00:00:ff' }] },
    ...(status
      ? {
          status: {
            capacity: 255,
            allocated: 0,
            quarantined: 0,
            outsideRanges: 0,
            ranges: [],
            ...(observed !== undefined ? { observedGeneration: observed } : {}),
          },
        }
      : {}),
  });

  it('is behind when observedGeneration is older than the generation, or there is no status', () => {
    assert.equal(statusBehind(pool(2, 1)), true);
    assert.equal(statusBehind(pool(2, undefined)), true);
    assert.equal(statusBehind(pool(2, 2)), false);
    assert.equal(statusBehind(pool(undefined, undefined)), false);
    assert.equal(statusBehind(pool(1, 1, false)), true);
  });
});

describe('placing the admission’s answer to a range edit', () => {
  it('puts each cause on the start, end or whole row it names, and keeps the rest general', () => {
    const e = new ApiError(422, 'Invalid', 'MacPool "default" is invalid', [
      { field: 'spec.ranges[0].start', message: 'multicast' },
      { field: 'spec.ranges[1].end', message: 'before start' },
      { field: 'spec.ranges[1]', message: 'overlaps spec.ranges[0]' },
      { field: 'spec.quarantineSeconds', message: 'whole number' },
    ]);
    const p = placeRangeErrors(e, 2);
    assert.equal(p.start.get(0), 'multicast');
    assert.equal(p.end.get(1), 'before start');
    assert.equal(p.range.get(1), 'overlaps spec.ranges[0]');
    assert.equal(p.general, 'spec.quarantineSeconds: whole number');
  });

  it('a message with no field it can place is shown whole', () => {
    const p = placeRangeErrors(
      new ApiError(422, 'Invalid', 'MacPool "x" is invalid', [
        { field: 'spec.ranges', message: 'at least one range {start, end} is required' },
      ]),
      0,
    );
    assert.equal(p.start.size + p.end.size + p.range.size, 0);
    assert.equal(
      p.general,
      'MacPool "x" is invalid spec.ranges: at least one range {start, end} is required',
    );
  });
});
