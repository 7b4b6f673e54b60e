// What every bench prints and records: a table of figures, each beside its baseline from the same run, framed by the
// load average at start and end; with HARROW_BENCH_OUT the same figures go to that file as JSON (bench/run.ts collects
// them), and with HARROW_BENCH_PROFILE=DIR each profiled phase leaves a .cpuprofile there plus its top self-time functions.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';

export interface Figure {
  /** What was measured, as the table's first column says it. */
  name: string;
  value: number;
  /** ms, s, /s, MiB, count, ratio, … */
  unit: string;
  /** The same work done the plain way in this process (the bare store, parse+stringify, …). */
  baseline?: { name: string; value: number; unit: string };
  /** What the figure is held to (issue 17's targets), in words. */
  target?: string;
  /** true/false when the target is stated as a check on this figure; absent when there is none. */
  met?: boolean;
  note?: string;
}

export interface BenchSummary {
  bench: string;
  title: string;
  startedAt: string;
  loadAverage: { start: number[]; end: number[] };
  figures: Figure[];
  /** Top self-time functions of each profiled phase (HARROW_BENCH_PROFILE). */
  profiles?: Record<string, ProfileSummary>;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  top: Array<{ function: string; selfMs: number; share: number }>;
}

const loads = (): number[] => loadavg().map((l) => Math.round(l * 100) / 100);

const formatNumber = (value: number, unit: string): string => {
  const digits =
    unit === 'ratio' || unit === '×'
      ? 2
      : Math.abs(value) >= 100
        ? 0
        : Math.abs(value) >= 10
          ? 1
          : 2;
  const text = value.toFixed(digits);
  return unit === 'count' ? text : unit === '×' ? `${text}×` : `${text} ${unit}`;
};

/** Collects figures and prints them as one table; the load average is read when it is made and when it prints. */
export class BenchReport {
  readonly figures: Figure[] = [];
  readonly profiles: Record<string, ProfileSummary> = {};
  private readonly loadStart = loads();
  private readonly startedAt = new Date().toISOString();

  constructor(
    readonly bench: string,
    readonly title: string,
  ) {}

  add(figure: Figure): Figure {
    this.figures.push(figure);
    return figure;
  }

  /** Prints the table (stdout) and, when HARROW_BENCH_OUT names a file, writes the summary there as JSON. */
  finish(): BenchSummary {
    const summary: BenchSummary = {
      bench: this.bench,
      title: this.title,
      startedAt: this.startedAt,
      loadAverage: { start: this.loadStart, end: loads() },
      figures: this.figures,
      ...(Object.keys(this.profiles).length > 0 ? { profiles: this.profiles } : {}),
    };
    console.log(renderSummary(summary));
    const out = process.env.HARROW_BENCH_OUT;
    if (out) writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  }

  /**
   * Runs `work` as one named phase; with HARROW_BENCH_PROFILE=DIR the phase is CPU-profiled (this process only) into
   * DIR/<bench>-<phase>.cpuprofile and its top self-time functions are kept for the summary.
   */
  async phase<T>(name: string, work: () => Promise<T>): Promise<T> {
    const dir = process.env.HARROW_BENCH_PROFILE;
    if (!dir) return work();
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    try {
      return await work();
    } finally {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${this.bench}-${name}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      this.profiles[name] = { file, ...topSelfTime(profile as CpuProfile) };
    }
  }
}

/** The table as it is printed: header with the load at start, one line per figure beside its baseline, the load at end. */
export function renderSummary(summary: BenchSummary): string {
  const lines = [
    `${summary.title}`,
    `load average at start ${summary.loadAverage.start.join(' ')}`,
    '',
  ];
  const rows = summary.figures.map((f) => [
    f.name,
    formatNumber(f.value, f.unit),
    f.baseline
      ? `${f.baseline.name} ${formatNumber(f.baseline.value, f.baseline.unit)} → ${(f.value / f.baseline.value).toFixed(2)}×`
      : '',
    [f.target ? `target ${f.target}` : '', f.met === undefined ? '' : f.met ? 'met' : 'NOT met']
      .filter(Boolean)
      .join(': '),
    f.note ?? '',
  ]);
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length), 0));
  for (const r of rows)
    lines.push(
      r
        .map((cell, c) => (c < 4 ? cell.padEnd(widths[c]!) : cell))
        .join('  ')
        .trimEnd(),
    );
  for (const [phase, p] of Object.entries(summary.profiles ?? {})) {
    lines.push('', `profile ${phase}: ${p.totalMs.toFixed(0)} ms sampled (${p.file})`);
    for (const t of p.top)
      lines.push(
        `  ${t.selfMs.toFixed(0).padStart(6)} ms ${(t.share * 100).toFixed(1).padStart(5)} %  ${t.function}`,
      );
  }
  lines.push('', `load average at end ${summary.loadAverage.end.join(' ')}`);
  return lines.join('\n');
}

interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }>;
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function (name, file and line), highest first, from a V8 CPU profile. */
export function topSelfTime(
  profile: CpuProfile,
  count = 15,
): { totalMs: number; top: ProfileSummary['top'] } {
  const frameOf = new Map<number, string>();
  for (const n of profile.nodes) {
    const { functionName, url } = n.callFrame;
    // File only: under tsx the line numbers are those of the transformed module, not of the source.
    const file = url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/|src\/|bench\/)/, '$1');
    frameOf.set(n.id, `${functionName || '(anonymous)'} ${file}`.trim());
  }
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    // The first sample's delta is the profiler's own start-up, not the phase's work.
    const us = i === 0 ? 0 : (profile.timeDeltas[i] ?? 0);
    total += us;
    const frame = frameOf.get(id) ?? '?';
    self.set(frame, (self.get(frame) ?? 0) + us);
  });
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([fn, us]) => ({ function: fn, selfMs: us / 1000, share: total > 0 ? us / total : 0 }));
  return { totalMs: total / 1000, top };
}

export const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
