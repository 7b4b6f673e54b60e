// Benchmark: MacPoolAllocator against KubeMacPool's scan-forward allocator on a 2^20-address range, at 0–99.99 % occupancy.
// Run: node --import tsx bench/pool.ts   (prints figures; never asserts)

import { availableParallelism, loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { macToNumber, numberToMac } from '../src/mac/index.ts';
import { MacPoolAllocator } from '../src/pool/index.ts';

const RANGE = { start: '02:48:52:00:00:00', end: '02:48:52:0f:ff:ff' };
const SIZE = 2 ** 20;
const FIRST = macToNumber(RANGE.start);
const NOW = 1_700_000_000_000;

interface Allocator {
  allocate(): string;
  free(mac: string): void;
}

/**
 * KubeMacPool's getFreeMac: a set of used addresses and a cursor after the last one handed out; scan forward
 * one address at a time, wrap once, give up after a full turn. (KubeMacPool keys a Go map by the formatted MAC
 * and formats at every step; a Set of numbers is kinder to the baseline.)
 */
class ScanAllocator implements Allocator {
  private readonly used = new Set<number>();
  private cursor = 0;
  allocate(): string {
    for (let step = 0; step < SIZE; step++) {
      const offset = this.cursor;
      this.cursor = offset + 1 === SIZE ? 0 : offset + 1;
      if (!this.used.has(offset)) {
        this.used.add(offset);
        return numberToMac(FIRST + offset);
      }
    }
    throw new Error('the range is full');
  }
  free(mac: string): void {
    this.used.delete(macToNumber(mac) - FIRST);
  }
}

/** The same scan over a bitmap that skips 32 used addresses per full word: the best a scan can do, memory ∝ range. */
class BitmapScanAllocator implements Allocator {
  private readonly words = new Uint32Array(SIZE / 32);
  private cursor = 0;
  allocate(): string {
    const words = this.words;
    for (let seen = 0; seen <= SIZE + 32;) {
      const offset = this.cursor;
      const w = offset >>> 5;
      if (words[w] === 0xffffffff) {
        const next = (w + 1) * 32;
        seen += next - offset;
        this.cursor = next === SIZE ? 0 : next;
        continue;
      }
      this.cursor = offset + 1 === SIZE ? 0 : offset + 1;
      seen++;
      const bit = 1 << (offset & 31);
      if ((words[w]! & bit) === 0) {
        words[w] = words[w]! | bit;
        return numberToMac(FIRST + offset);
      }
    }
    throw new Error('the range is full');
  }
  free(mac: string): void {
    const offset = macToNumber(mac) - FIRST;
    this.words[offset >>> 5] = this.words[offset >>> 5]! & ~(1 << (offset & 31));
  }
}

class HarrowAllocator implements Allocator {
  private readonly pool = new MacPoolAllocator({ ranges: [RANGE], quarantineMs: 0, seed: 'bench' });
  allocate(): string {
    return this.pool.allocate(NOW);
  }
  free(mac: string): void {
    this.pool.free(mac);
  }
}

const METHODS: Array<{ name: string; make: () => Allocator }> = [
  { name: 'harrow', make: () => new HarrowAllocator() },
  { name: 'scan (KubeMacPool)', make: () => new ScanAllocator() },
  { name: 'bitmap scan', make: () => new BitmapScanAllocator() },
];

function exposeGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}
const gc = exposeGc();

function memory(): number {
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0; // mulberry32
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface Level {
  label: string;
  occupancy: number;
}
const LEVELS: Level[] = [
  { label: '0 %', occupancy: 0 },
  { label: '50 %', occupancy: 0.5 },
  { label: '99 %', occupancy: 0.99 },
  { label: '99.99 %', occupancy: 0.9999 },
];
const FRESH_ALLOCATIONS = 65_536; // at 0 %: allocations from an empty pool
const STEADY_ALLOCATIONS = 200_000;
const SLOW_STEADY_ALLOCATIONS = 2_000; // the per-address scan at 99.99 % needs ~10^4 steps per allocation

interface Result {
  perSecond: number;
  bytesPerAllocation: number;
  allocations: number;
}

// Allocated before any measurement so that they are not counted: the addresses held, as numbers, and
// the strings handed out inside a timed loop (converted to numbers only after the clock stops).
const held = new Float64Array(SIZE);
const handedOut: string[] = new Array<string>(64).fill('');
const ROUNDS = 5; // the machine is shared: each rate is the median of 5 timed rounds

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

// A forced gc right before a timed loop slows that loop down for a while (sweeping, a shrunken young
// generation), so memory is measured in passes of its own and the first timed round after one is dropped.
function measureFromEmpty(make: () => Allocator, allocations: number): Result {
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const allocator = make();
    const start = performance.now();
    // Only the last 64 strings are kept: retaining all of them would time the young-generation GC copying them.
    for (let k = 0; k < allocations; k++) handedOut[k & 63] = allocator.allocate();
    rates.push(allocations / ((performance.now() - start) / 1000));
  }
  const before = memory();
  const allocator = make();
  for (let k = 0; k < allocations; k++) held[k] = macToNumber(allocator.allocate());
  const bytesPerAllocation = (memory() - before) / allocations;
  if (allocator.allocate() === '') throw new Error('unreachable'); // keeps the allocator alive through the measurement
  return { perSecond: median(rates), bytesPerAllocation, allocations: allocations * ROUNDS };
}

function measureSteady(make: () => Allocator, occupancy: number, allocations: number): Result {
  const before = memory();
  const allocator = make();
  const count = Math.round(SIZE * occupancy);
  for (let k = 0; k < count; k++) held[k] = macToNumber(allocator.allocate());
  const bytesPerAllocation = (memory() - before) / count;
  // Free random in-use addresses (untimed), then allocate as many (timed), in batches small enough that
  // occupancy moves by at most ~1/16 of the free addresses.
  const batch = Math.max(1, Math.min(64, Math.floor((SIZE - count) / 16)));
  const next = random(42);
  const slots = new Int32Array(batch);
  const perRound = Math.ceil(allocations / ROUNDS / batch) * batch;
  const rates: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    let elapsed = 0;
    for (let done = 0; done < perRound; done += batch) {
      for (let b = 0; b < batch; b++) {
        const slot = Math.floor(next() * count);
        slots[b] = slot;
        allocator.free(numberToMac(held[slot]!));
      }
      const start = performance.now();
      for (let b = 0; b < batch; b++) handedOut[b] = allocator.allocate();
      elapsed += performance.now() - start;
      for (let b = 0; b < batch; b++) held[slots[b]!] = macToNumber(handedOut[b]!);
    }
    if (round > 0) rates.push(perRound / (elapsed / 1000)); // round 0 settles after the gc
  }
  return { perSecond: median(rates), bytesPerAllocation, allocations: perRound * (ROUNDS + 1) };
}

function measure(make: () => Allocator, level: Level, allocations: number): Result {
  return level.occupancy === 0
    ? measureFromEmpty(make, allocations)
    : measureSteady(make, level.occupancy, allocations);
}

function format(value: number, digits = 0): string {
  return value.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

function main(): void {
  console.log(
    `MAC pool allocation benchmark — range ${RANGE.start}–${RANGE.end} (2^20 = ${format(SIZE)} addresses), Node ${process.version}`,
  );
  console.log(
    gc
      ? 'memory: heapUsed + arrayBuffers delta after gc, ÷ addresses held'
      : 'memory: gc not available (run with --expose-gc); deltas include garbage',
  );
  console.log(
    `0 %: ${format(FRESH_ALLOCATIONS)} allocations from an empty pool; other levels: fill, then free a random in-use address and allocate one`,
  );
  console.log(
    `(same random sequence for every method), timing allocations only; alloc/s is the median of ${ROUNDS} rounds`,
  );
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')} on ${availableParallelism()} CPUs (figures are wall-clock)\n`,
  );
  // Warm the JIT for every method so the first level is not charged for compilation.
  for (const method of METHODS) measureSteady(method.make, 0.5, 20_000);

  const rows: string[][] = [];
  const notes: string[] = [];
  const summary: Array<{ level: string; harrow: number; baseline: number }> = [];
  for (const level of LEVELS) {
    const results = METHODS.map((method) => {
      let allocations = level.occupancy === 0 ? FRESH_ALLOCATIONS : STEADY_ALLOCATIONS;
      if (method.name.startsWith('scan') && level.occupancy > 0.999) {
        allocations = SLOW_STEADY_ALLOCATIONS;
        notes.push(
          `scan (KubeMacPool) at ${level.label}: ${format(allocations)} allocations instead of ${format(STEADY_ALLOCATIONS)} (each scans ~10^4 addresses)`,
        );
      }
      return measure(method.make, level, allocations);
    });
    const [harrow, scan, bitmap] = results as [Result, Result, Result];
    summary.push({ level: level.label, harrow: harrow.perSecond, baseline: scan.perSecond });
    rows.push([
      level.label,
      format(harrow.perSecond),
      format(scan.perSecond),
      `${format(harrow.perSecond / scan.perSecond, 1)}×`,
      format(bitmap.perSecond),
      `${format(harrow.perSecond / bitmap.perSecond, 1)}×`,
      format(harrow.bytesPerAllocation, 2),
      format(scan.bytesPerAllocation, 2),
      format(bitmap.bytesPerAllocation, 2),
    ]);
  }
  const header = [
    'occupancy',
    'harrow alloc/s',
    'scan alloc/s',
    'harrow÷scan',
    'bitmap-scan alloc/s',
    'harrow÷bitmap',
    'harrow B/alloc',
    'scan B/alloc',
    'bitmap B/alloc',
  ];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  console.log('');
  for (const note of notes) console.log(`note: ${note}`);
  const slowest = Math.min(...summary.map((s) => s.harrow));
  const last = summary[summary.length - 1]!;
  console.log(
    `target ≥ 1,000,000 allocations/s at every occupancy: slowest level ${format(slowest)}/s — ${slowest >= 1e6 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `target ≥ 100× the scan baseline at ${last.level}: ${format(last.harrow / last.baseline, 1)}× — ${last.harrow / last.baseline >= 100 ? 'met' : 'NOT met'}`,
  );
}

main();
