// npm run bench: runs the benches one after another (each in its own process, its table on stdout as it prints) and
// writes bench/results/<timestamp>-<commit>.json with every bench's figures, baselines and load averages, so two
// commits can be compared (npm run bench:compare A B).
// Run: npm run bench [-- NAME...]   (default: every bench; one whose prerequisite is missing says so and is skipped)
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchSummary } from './report.ts';

const ROOT = join(import.meta.dirname, '..');
/** In the order they run: the quick, CPU-only ones first, the ones needing etcd, Chromium, kubectl or QEMU after. */
const BENCHES = ['pool', 'store', 'scale', 'cli', 'ui-list', 'qemu', 'down'] as const;

/** What one bench left: its summary (benches on bench/report.ts) or its printed text, and how it ended. */
interface BenchRun {
  bench: string;
  exitCode: number | null;
  seconds: number;
  summary?: BenchSummary;
  /** stdout, for the benches that print a table of their own. */
  output?: string;
}

function commitOf(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
    })
      .toString()
      .trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

function runOne(bench: string, dir: string): Promise<BenchRun> {
  const out = join(dir, `${bench}.json`);
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench', `${bench}.ts`)],
      {
        cwd: ROOT,
        env: { ...process.env, HARROW_BENCH_OUT: out },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      output += chunk.toString();
    });
    child.on('close', (exitCode) => {
      const seconds = (performance.now() - started) / 1000;
      const run: BenchRun = { bench, exitCode, seconds };
      if (existsSync(out)) run.summary = JSON.parse(readFileSync(out, 'utf8')) as BenchSummary;
      else run.output = output;
      resolve(run);
    });
  });
}

const asked = process.argv.slice(2);
const unknown = asked.filter((b) => !(BENCHES as readonly string[]).includes(b));
if (unknown.length > 0) {
  console.error(`unknown bench ${unknown.join(', ')}: choose from ${BENCHES.join(', ')}`);
  process.exit(2);
}
const chosen = asked.length > 0 ? asked : [...BENCHES];
const commit = commitOf();
const startedAt = new Date();
const dir = mkdtempSync(join(tmpdir(), 'harrow-bench-run-'));
const runs: BenchRun[] = [];
const loadStart = loadavg();
try {
  for (const bench of chosen) {
    console.log(`\n=== bench/${bench} ===`);
    runs.push(await runOne(bench, dir));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const results = join(ROOT, 'bench', 'results');
mkdirSync(results, { recursive: true });
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const file = join(results, `${stamp}-${commit}.json`);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      commit,
      startedAt: startedAt.toISOString(),
      node: process.version,
      loadAverage: { start: loadStart, end: loadavg() },
      runs,
    },
    null,
    2,
  )}\n`,
);
console.log(`\nsummary: ${file}`);
const failed = runs.filter((r) => r.exitCode !== 0);
if (failed.length > 0) {
  console.log(`failed: ${failed.map((r) => `${r.bench} (exit ${r.exitCode})`).join(', ')}`);
  process.exit(1);
}
