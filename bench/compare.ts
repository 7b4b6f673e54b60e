// npm run bench:compare A B: the figures of two `npm run bench` summaries side by side (B / A per figure), with the
// load average each ran under. A and B are summary files or the commit their name ends with (newest such file).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchSummary, Figure } from './report.ts';

interface RunFile {
  commit: string;
  startedAt: string;
  runs: Array<{ bench: string; summary?: BenchSummary }>;
}

const RESULTS = join(import.meta.dirname, 'results');

function load(which: string): { file: string; run: RunFile } {
  let file = which;
  if (!which.endsWith('.json')) {
    const matches = readdirSync(RESULTS)
      .filter((f) => f.endsWith('.json') && f.includes(`-${which}`))
      .sort();
    const newest = matches[matches.length - 1];
    if (!newest) throw new Error(`no summary in bench/results for commit ${which}`);
    file = join(RESULTS, newest);
  }
  return { file, run: JSON.parse(readFileSync(file, 'utf8')) as RunFile };
}

const [a, b] = process.argv.slice(2);
if (!a || !b) {
  console.error(
    'usage: npm run bench:compare -- A B   (summary files, or commits with a summary in bench/results)',
  );
  process.exit(2);
}
const before = load(a);
const after = load(b);
const figures = (run: RunFile): Map<string, { figure: Figure; summary: BenchSummary }> => {
  const out = new Map<string, { figure: Figure; summary: BenchSummary }>();
  for (const r of run.runs)
    for (const figure of r.summary?.figures ?? [])
      out.set(`${r.bench}: ${figure.name}`, { figure, summary: r.summary! });
  return out;
};
const fa = figures(before.run);
const fb = figures(after.run);
console.log(`A ${before.run.commit} (${before.run.startedAt})  ${before.file}`);
console.log(`B ${after.run.commit} (${after.run.startedAt})  ${after.file}\n`);
const benches = new Set([...before.run.runs, ...after.run.runs].map((r) => r.bench));
for (const bench of benches) {
  const load = (run: RunFile): string => {
    const s = run.runs.find((r) => r.bench === bench)?.summary;
    return s ? `${s.loadAverage.start[0]}→${s.loadAverage.end[0]}` : '-';
  };
  console.log(`bench/${bench}   load average A ${load(before.run)}, B ${load(after.run)}`);
  for (const key of new Set([...fa.keys(), ...fb.keys()])) {
    if (!key.startsWith(`${bench}: `)) continue;
    const x = fa.get(key)?.figure;
    const y = fb.get(key)?.figure;
    const fmt = (f?: Figure): string =>
      f ? `${f.value.toFixed(f.value >= 100 ? 0 : 2)} ${f.unit}` : '-';
    const ratio = x && y && x.value !== 0 ? `${(y.value / x.value).toFixed(2)}×` : '';
    const vsBaseline = (f?: Figure): string =>
      f?.baseline ? `${(f.value / f.baseline.value).toFixed(2)}×base` : '';
    console.log(
      `  ${key.slice(bench.length + 2).padEnd(52)} ${fmt(x).padStart(12)} ${vsBaseline(x).padStart(10)}  ${fmt(y).padStart(12)} ${vsBaseline(y).padStart(10)}  ${ratio.padStart(7)}${y?.met === undefined ? '' : y.met ? '  met' : '  NOT met'}`,
    );
  }
}
