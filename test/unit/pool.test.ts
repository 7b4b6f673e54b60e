// The MAC pool allocator: uniqueness, quarantine, exhaustion and rebuild, by example and against a naive model.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isMulticast, macToNumber, numberToMac } from '../../src/mac/index.ts';
import {
  DEFAULT_MAC_RANGE,
  MacPoolAllocator,
  type MacRange,
  PoolConfigError,
  PoolError,
  PoolExhaustedError,
} from '../../src/pool/index.ts';

const SMALL: MacRange = { start: '02:48:52:00:00:00', end: '02:48:52:00:00:3f' }; // 64 addresses

function pool(
  ranges: MacRange[] = [SMALL],
  quarantineMs = 1000,
  extra: { seed?: string; excluded?: string[] } = {},
): MacPoolAllocator {
  return new MacPoolAllocator({ ranges, quarantineMs, ...extra });
}

function poolError(code: string, check?: (error: PoolError) => void) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof PoolError, `expected a PoolError, got ${String(error)}`);
    assert.equal(error.code, code);
    check?.(error);
    return true;
  };
}

function drain(allocator: MacPoolAllocator, now: number): string[] {
  const out: string[] = [];
  for (;;) {
    try {
      out.push(allocator.allocate(now));
    } catch (error) {
      if (error instanceof PoolExhaustedError) return out;
      throw error;
    }
  }
}

function inRanges(mac: string, ranges: MacRange[]): boolean {
  const value = macToNumber(mac);
  return ranges.some((r) => value >= macToNumber(r.start) && value <= macToNumber(r.end));
}

describe('pool definition', () => {
  it('counts only the addresses it may hand out', () => {
    assert.equal(pool([DEFAULT_MAC_RANGE]).capacity, 2 ** 24);
    assert.equal(pool([SMALL]).capacity, 64);
    // 01:… is multicast; 02:00:00:00:00:00 is KubeVirt's masquerade bridge address.
    assert.equal(pool([{ start: '01:ff:ff:ff:ff:f0', end: '02:00:00:00:00:0f' }]).capacity, 15);
    // all-zero is never handed out; 00:00:00:00:00:05 is excluded on request.
    assert.equal(
      pool([{ start: '00:00:00:00:00:00', end: '00:00:00:00:00:0f' }], 0, {
        excluded: ['00-00-00-00-00-05'],
      }).capacity,
      14,
    );
    // the whole 48-bit space: the unicast half, minus all-zero and 02:00:00:00:00:00
    assert.equal(
      pool([{ start: '00:00:00:00:00:00', end: 'ff:ff:ff:ff:ff:ff' }]).capacity,
      2 ** 47 - 2,
    );
    assert.equal(pool([{ start: '01:00:00:00:00:00', end: '01:ff:ff:ff:ff:ff' }]).capacity, 0);
    // a single address left between two holes still counts
    assert.equal(
      pool([{ start: '02:00:00:00:00:00', end: '02:00:00:00:00:03' }], 0, {
        excluded: ['02:00:00:00:00:02'],
      }).capacity,
      2,
    );
    assert.equal(
      pool([SMALL, { start: '0a:00:00:00:00:00', end: '0a:00:00:00:00:09' }]).capacity,
      74,
    );
  });

  it('rejects an unusable definition naming the field', () => {
    const field = (f: string, pattern?: RegExp) => (error: unknown) => {
      assert.ok(error instanceof PoolConfigError, String(error));
      assert.equal(error.field, f);
      if (pattern) assert.match(error.message, pattern);
      return true;
    };
    assert.throws(() => pool([]), field('ranges'));
    assert.throws(
      () => pool([SMALL, { start: '02:48:52:00:00:00', end: 'nope' }]),
      field('ranges[1].end', /invalid MAC address "nope"/),
    );
    assert.throws(
      () => pool([{ start: '02:00:00:00:00:09', end: '02:00:00:00:00:01' }]),
      field('ranges[0]', /start 02:00:00:00:00:09 is after end/),
    );
    assert.throws(
      () => pool([SMALL, { start: '02:48:52:00:00:3f', end: '02:48:52:00:00:ff' }]),
      field('ranges[1]', /overlaps ranges\[0\]/),
    );
    assert.throws(() => pool([SMALL], -1), field('quarantineMs'));
    assert.throws(() => pool([SMALL], Number.NaN), field('quarantineMs'));
    assert.throws(() => pool([SMALL], 0, { excluded: ['x'] }), field('excluded[0]'));
  });
});

describe('allocate', () => {
  it('hands out every address of the ranges once, then throws PoolExhaustedError', () => {
    const ranges = [SMALL, { start: '0a:00:00:00:00:00', end: '0a:00:00:00:00:09' }];
    const allocator = pool(ranges);
    const got = drain(allocator, 0);
    assert.equal(got.length, 74);
    assert.equal(new Set(got).size, 74);
    for (const mac of got) assert.ok(inRanges(mac, ranges), mac);
    assert.deepEqual(allocator.stats(), { capacity: 74, inUse: 74, quarantined: 0 });
    assert.throws(
      () => allocator.allocate(0),
      (error: unknown) => {
        assert.ok(error instanceof PoolExhaustedError);
        assert.equal(error.code, 'exhausted');
        assert.deepEqual(
          [error.capacity, error.inUse, error.quarantined, error.nextFreeAt],
          [74, 74, 0, undefined],
        );
        assert.match(
          error.message,
          /all 74 addresses are taken \(74 in use, 0 quarantined\); none is quarantined/,
        );
        return true;
      },
    );
  });

  it('hands out a range of whole pages plus a partial one exactly once', () => {
    const ranges = [{ start: '0a:00:00:00:00:00', end: '0a:00:00:00:09:c3' }]; // 2500 = 2 × 1024 + 452
    const got = drain(pool(ranges, 0, { seed: 'pages' }), 0);
    assert.equal(got.length, 2500);
    assert.equal(new Set(got).size, 2500);
    assert.ok(got.every((mac) => inRanges(mac, ranges)));
  });

  it('never hands out multicast, all-zero, 02:00:00:00:00:00 or excluded addresses', () => {
    const ranges = [
      { start: '00:00:00:00:00:00', end: '00:00:00:00:00:1f' },
      { start: '01:ff:ff:ff:ff:e0', end: '02:00:00:00:00:1f' },
    ];
    const got = drain(pool(ranges, 0, { excluded: ['00:00:00:00:00:07', '02:00:00:00:00:10'] }), 0);
    assert.equal(got.length, 31 + 31 - 2);
    for (const bad of [
      '00:00:00:00:00:00',
      '02:00:00:00:00:00',
      '00:00:00:00:00:07',
      '02:00:00:00:00:10',
    ])
      assert.ok(!got.includes(bad), bad);
    assert.ok(got.every((mac) => !isMulticast(mac)));
  });

  it('gives nothing from a pool whose ranges hold no usable address', () => {
    const allocator = pool([{ start: '01:00:00:00:00:00', end: '01:00:00:00:00:ff' }]);
    assert.throws(
      () => allocator.allocate(0),
      /has no address to hand out: its ranges hold only multicast/,
    );
  });

  it('follows a seeded order: the same seed repeats it, another seed starts elsewhere', () => {
    const first = (seed: string) => {
      const allocator = pool([DEFAULT_MAC_RANGE], 0, { seed });
      return Array.from({ length: 32 }, () => allocator.allocate(0));
    };
    assert.deepEqual(first('cluster-a'), first('cluster-a'));
    const a = new Set(first('cluster-a'));
    assert.ok(first('cluster-b').every((mac) => !a.has(mac)));
    // scattered, not 02:48:52:00:00:00, …:01, …:02
    const sequential = Array.from({ length: 32 }, (_, i) =>
      numberToMac(macToNumber(DEFAULT_MAC_RANGE.start) + i),
    );
    assert.notDeepEqual(first('cluster-a'), sequential);
  });

  it('works on a 2^40-address range without materialising it', () => {
    const ranges = [{ start: '02:00:00:00:00:00', end: '02:ff:ff:ff:ff:ff' }];
    const allocator = pool(ranges, 0);
    assert.equal(allocator.capacity, 2 ** 40 - 1);
    const before = process.memoryUsage().heapUsed;
    const got = new Set<string>();
    for (let i = 0; i < 20_000; i++) got.add(allocator.allocate(0));
    assert.equal(got.size, 20_000);
    for (const mac of got) assert.ok(inRanges(mac, ranges) && mac !== '02:00:00:00:00:00');
    allocator.reserve('02:ff:ff:ff:ff:ff');
    allocator.reserve('02:00:00:00:00:01');
    assert.equal(allocator.stateOf('02:ff:ff:ff:ff:ff').state, 'in-use');
    // A bitmap of the range alone would be 128 GiB; the allocator's state stays in megabytes.
    assert.ok(process.memoryUsage().heapUsed - before < 64 * 2 ** 20);
  });
});

describe('reserve, release, free', () => {
  it('reserves a user-given address and refuses one that is taken, saying how', () => {
    const allocator = pool();
    allocator.reserve('02-48-52-00-00-05');
    assert.deepEqual(allocator.stateOf('02:48:52:00:00:05'), { state: 'in-use' });
    assert.throws(
      () => allocator.reserve('02:48:52:00:00:05'),
      poolError('in-use', (e) => assert.match(e.message, /02:48:52:00:00:05 is already in use/)),
    );
    assert.equal(allocator.release('02:48:52:00:00:05', 5000), 6000);
    assert.throws(
      () => allocator.reserve('02:48:52:00:00:05', 5999),
      poolError('quarantined', (e) => {
        assert.equal(e.quarantineUntil, 6000);
        assert.equal(e.macAddress, '02:48:52:00:00:05');
        assert.match(e.message, /quarantined until 1970-01-01T00:00:06.000Z/);
      }),
    );
    allocator.reserve('02:48:52:00:00:05', 6000);
    assert.throws(() => allocator.reserve('02:48:52:00:01:00'), poolError('outside'));
    assert.throws(() => allocator.reserve('02:48:52:00:00:3g'), /invalid MAC address/);
  });

  it('never hands out a reserved address, whether the walk has passed it or not', () => {
    const allocator = pool();
    const early = drain(pool(), 0).slice(0, 3); // the first addresses this seed hands out
    for (const mac of early) allocator.reserve(mac);
    const taken = allocator.allocate(0);
    allocator.free(taken); // behind the walk now: comes back through the free list
    allocator.reserve(taken);
    const rest = drain(allocator, 0);
    assert.equal(rest.length, 64 - 4);
    for (const mac of [...early, taken]) assert.ok(!rest.includes(mac));
  });

  it('quarantines a released address until now + quarantineMs, then hands it out again', () => {
    const allocator = pool([SMALL], 300);
    const all = drain(allocator, 0);
    const victim = all[17]!;
    assert.equal(allocator.release(victim, 1000), 1300);
    assert.deepEqual(allocator.stateOf(victim), { state: 'quarantined', quarantineUntil: 1300 });
    assert.deepEqual(allocator.stats(1299), { capacity: 64, inUse: 63, quarantined: 1 });
    assert.throws(
      () => allocator.allocate(1299),
      (error: unknown) => {
        assert.ok(error instanceof PoolExhaustedError);
        assert.deepEqual([error.inUse, error.quarantined, error.nextFreeAt], [63, 1, 1300]);
        assert.match(
          error.message,
          /\(63 in use, 1 quarantined\); the earliest quarantined one frees in 1 ms \(at 1970-01-01T00:00:01.300Z\)/,
        );
        return true;
      },
    );
    assert.equal(allocator.allocate(1300), victim);
    assert.deepEqual(allocator.stats(), { capacity: 64, inUse: 64, quarantined: 0 });
  });

  it('refuses to release what is not in use', () => {
    const allocator = pool();
    assert.throws(
      () => allocator.release('02:48:52:00:00:01', 0),
      poolError('not-in-use', (e) => assert.match(e.message, /it is free/)),
    );
    allocator.reserve('02:48:52:00:00:01');
    allocator.release('02:48:52:00:00:01', 0);
    assert.throws(
      () => allocator.release('02:48:52:00:00:01', 1),
      poolError('not-in-use', (e) => assert.match(e.message, /already quarantined until/)),
    );
    assert.throws(() => allocator.release('52:54:00:00:00:01', 1), poolError('outside'));
    assert.throws(() => allocator.release('02:48:52:00:00:02', -1), RangeError);
    assert.throws(() => allocator.allocate(Number.NaN), RangeError);
  });

  it('frees at once: rollback of an allocation, and a deleted quarantine record', () => {
    const allocator = pool([SMALL], 10_000);
    const all = drain(allocator, 0);
    allocator.free(all[3]!);
    allocator.release(all[4]!, 0);
    allocator.free(all[4]!);
    allocator.free(all[4]!); // already free: nothing to do
    assert.deepEqual(allocator.stats(), { capacity: 64, inUse: 62, quarantined: 0 });
    assert.deepEqual(
      new Set([allocator.allocate(1), allocator.allocate(1)]),
      new Set([all[3], all[4]]),
    );
    assert.throws(() => allocator.allocate(1), PoolExhaustedError);
    assert.throws(() => allocator.free('02:48:52:00:00:40'), poolError('outside'));
  });

  it('ends quarantines in time order even when they were not started in that order', () => {
    const allocator = pool([SMALL], 1000);
    const all = drain(allocator, 0);
    allocator.release(all[0]!, 0); // until 1000
    allocator.setQuarantineMs(10);
    assert.equal(allocator.quarantineMs, 10);
    allocator.release(all[1]!, 5); // until 15, earlier than the one before
    allocator.free(all[2]!);
    allocator.restoreQuarantine(all[2]!, 7);
    assert.equal(allocator.earliestQuarantineUntil(), 7);
    assert.equal(allocator.allocate(7), all[2]);
    assert.equal(allocator.allocate(15), all[1]);
    assert.throws(
      () => allocator.allocate(999),
      (e: unknown) => e instanceof PoolExhaustedError && e.nextFreeAt === 1000,
    );
    assert.equal(allocator.allocate(1000), all[0]);
    assert.equal(allocator.earliestQuarantineUntil(), undefined);
    assert.throws(() => allocator.setQuarantineMs(-5), RangeError);
  });

  it('keeps its free list bounded and exact when addresses are reserved off it and freed again many times', () => {
    const allocator = pool([{ start: '02:48:52:00:00:00', end: '02:48:52:00:0f:ff' }], 0);
    const all = drain(allocator, 0);
    const cycled = all.slice(0, 500);
    for (const mac of cycled) allocator.free(mac);
    for (let round = 0; round < 5; round++) {
      for (const mac of cycled) allocator.reserve(mac);
      for (const mac of cycled) allocator.free(mac);
    }
    const again = drain(allocator, 0);
    assert.equal(again.length, 500);
    assert.deepEqual(new Set(again), new Set(cycled));
  });
});

describe('against a naive model', () => {
  type Op =
    | { kind: 'allocate' }
    | { kind: 'reserve'; pick: number }
    | { kind: 'release'; pick: number }
    | { kind: 'free'; pick: number }
    | { kind: 'advance'; ms: number }
    | { kind: 'setQuarantine'; ms: number }
    | { kind: 'rebuild'; seed: string };

  const pick = fc.nat(1000);
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.constant({ kind: 'allocate' as const }) },
    { weight: 2, arbitrary: pick.map((p) => ({ kind: 'reserve' as const, pick: p })) },
    { weight: 4, arbitrary: pick.map((p) => ({ kind: 'release' as const, pick: p })) },
    { weight: 2, arbitrary: pick.map((p) => ({ kind: 'free' as const, pick: p })) },
    {
      weight: 3,
      arbitrary: fc.integer({ min: 0, max: 40 }).map((ms) => ({ kind: 'advance' as const, ms })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(0, 1, 5, 20, 60)
        .map((ms) => ({ kind: 'setQuarantine' as const, ms })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('harrow', 'other-seed')
        .map((seed) => ({ kind: 'rebuild' as const, seed })),
    },
  );

  type Entry = { state: 'in-use' } | { state: 'quarantined'; until: number };

  function run(ranges: MacRange[], universe: string[], ops: Op[], excluded: string[] = []): void {
    const usable = universe.filter((mac) => {
      const value = macToNumber(mac);
      return (
        inRanges(mac, ranges) &&
        !isMulticast(mac) &&
        value !== 0 &&
        mac !== '02:00:00:00:00:00' &&
        !excluded.includes(mac)
      );
    });
    let quarantineMs = 20;
    let now = 1000;
    let allocator = new MacPoolAllocator({ ranges, quarantineMs, excluded });
    const model = new Map<string, Entry>();
    const active = (mac: string): Entry | undefined => {
      const entry = model.get(mac);
      if (entry?.state === 'quarantined' && entry.until <= now) {
        model.delete(mac);
        return undefined;
      }
      return entry;
    };
    const counts = () => {
      let inUse = 0;
      let quarantined = 0;
      for (const mac of usable) {
        const entry = active(mac);
        if (entry?.state === 'in-use') inUse++;
        else if (entry) quarantined++;
      }
      return { inUse, quarantined };
    };
    assert.equal(allocator.capacity, usable.length);

    for (const step of ops) {
      const target = 'pick' in step ? universe[step.pick % universe.length]! : '';
      const outside = !usable.includes(target);
      switch (step.kind) {
        case 'allocate': {
          const free = usable.filter((mac) => active(mac) === undefined);
          if (free.length === 0) {
            const { inUse, quarantined } = counts();
            const ends = [...model.values()].flatMap((e) =>
              e.state === 'quarantined' ? [e.until] : [],
            );
            assert.throws(
              () => allocator.allocate(now),
              (error: unknown) => {
                assert.ok(error instanceof PoolExhaustedError, String(error));
                assert.deepEqual(
                  [error.capacity, error.inUse, error.quarantined],
                  [usable.length, inUse, quarantined],
                );
                assert.equal(error.nextFreeAt, ends.length === 0 ? undefined : Math.min(...ends));
                return true;
              },
            );
          } else {
            const mac = allocator.allocate(now);
            assert.ok(
              free.includes(mac),
              `allocated ${mac}, which the model has as ${JSON.stringify(model.get(mac)) ?? 'unusable'}`,
            );
            model.set(mac, { state: 'in-use' });
          }
          break;
        }
        case 'reserve': {
          const entry = active(target);
          if (outside) assert.throws(() => allocator.reserve(target, now), poolError('outside'));
          else if (entry?.state === 'in-use')
            assert.throws(() => allocator.reserve(target, now), poolError('in-use'));
          else if (entry)
            assert.throws(
              () => allocator.reserve(target, now),
              poolError('quarantined', (e) => assert.equal(e.quarantineUntil, entry.until)),
            );
          else {
            allocator.reserve(target, now);
            model.set(target, { state: 'in-use' });
          }
          break;
        }
        case 'release': {
          const entry = active(target);
          if (outside) assert.throws(() => allocator.release(target, now), poolError('outside'));
          else if (entry?.state !== 'in-use')
            assert.throws(() => allocator.release(target, now), poolError('not-in-use'));
          else {
            assert.equal(allocator.release(target, now), now + quarantineMs);
            model.set(target, { state: 'quarantined', until: now + quarantineMs });
          }
          break;
        }
        case 'free':
          if (outside) assert.throws(() => allocator.free(target), poolError('outside'));
          else {
            allocator.free(target);
            model.delete(target);
          }
          break;
        case 'advance':
          now += step.ms;
          break;
        case 'setQuarantine':
          quarantineMs = step.ms;
          allocator.setQuarantineMs(step.ms);
          break;
        case 'rebuild': {
          // A restart: a new allocator learns the persisted state, quarantines in no particular order.
          allocator = new MacPoolAllocator({ ranges, quarantineMs, excluded, seed: step.seed });
          const entries = [...model.entries()].reverse();
          for (const [mac, entry] of entries) {
            if (entry.state === 'in-use') allocator.reserve(mac);
            else allocator.restoreQuarantine(mac, entry.until);
          }
          break;
        }
      }
      assert.deepEqual(allocator.stats(now), { capacity: usable.length, ...counts() });
      for (const mac of universe) {
        const entry = active(mac);
        const state = allocator.stateOf(mac, now);
        if (!usable.includes(mac)) assert.deepEqual(state, { state: 'outside' }, mac);
        else if (entry === undefined) assert.deepEqual(state, { state: 'free' }, mac);
        else if (entry.state === 'in-use') assert.deepEqual(state, { state: 'in-use' }, mac);
        else assert.deepEqual(state, { state: 'quarantined', quarantineUntil: entry.until }, mac);
      }
    }
  }

  const around = (ranges: MacRange[], below: number, above: number): string[] => {
    const macs = new Set<string>();
    for (const r of ranges) {
      const first = macToNumber(r.start);
      const last = macToNumber(r.end);
      for (let v = Math.max(0, first - below); v <= Math.min(2 ** 48 - 1, last + above); v++)
        macs.add(numberToMac(v));
    }
    return [...macs];
  };

  it('agrees with a Set model on a 64-address range over random operation sequences', () => {
    const ranges = [SMALL];
    const universe = around(ranges, 2, 2);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300, size: 'max' }), (ops) =>
        run(ranges, universe, ops),
      ),
      { numRuns: 150 },
    );
  });

  it('agrees with the model on ranges with holes (multicast, 02:00:00:00:00:00, all-zero, excluded) and two ranges', () => {
    const ranges = [
      { start: '00:00:00:00:00:00', end: '00:00:00:00:00:07' },
      { start: '01:ff:ff:ff:ff:f4', end: '02:00:00:00:00:0b' },
    ];
    const universe = around(ranges, 0, 2);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300, size: 'max' }), (ops) =>
        run(ranges, universe, ops, ['02:00:00:00:00:03']),
      ),
      { numRuns: 100 },
    );
  });

  it('agrees with the model on a range of four full pages and a partial one under long churn', () => {
    const ranges = [{ start: '02:48:52:00:00:00', end: '02:48:52:00:11:2b' }]; // 4396 addresses
    const allocator = new MacPoolAllocator({ ranges, quarantineMs: 50 });
    const inUse: string[] = [];
    const inUseSet = new Set<string>();
    const quarantine = new Map<string, number>();
    let now = 0;
    let state = 12345;
    const random = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    for (let step = 0; step < 40_000; step++) {
      now += random() < 0.3 ? 1 : 0;
      for (const [mac, until] of quarantine) if (until <= now) quarantine.delete(mac);
      if (random() < 0.55 || inUse.length === 0) {
        const freeCount = 4396 - inUse.length - quarantine.size;
        if (freeCount === 0) {
          assert.throws(() => allocator.allocate(now), PoolExhaustedError);
          continue;
        }
        const mac = allocator.allocate(now);
        assert.ok(!quarantine.has(mac), `${mac} handed out while quarantined`);
        assert.ok(!inUseSet.has(mac), `${mac} handed out twice`);
        inUse.push(mac);
        inUseSet.add(mac);
      } else {
        const k = Math.floor(random() * inUse.length);
        const mac = inUse[k]!;
        inUse[k] = inUse[inUse.length - 1]!;
        inUse.pop();
        inUseSet.delete(mac);
        quarantine.set(mac, allocator.release(mac, now));
      }
    }
    assert.equal(new Set(inUse).size, inUse.length);
    assert.deepEqual(allocator.stats(now), {
      capacity: 4396,
      inUse: inUse.length,
      quarantined: quarantine.size,
    });
  });
});
