// bench/cli: wall time of `harrow get vm` (the JavaScript build bin/harrow runs, and the TypeScript sources through tsx)
// beside `kubectl get vm`, against one real `harrow serve --tls auto` with the kubeconfig it writes. Prints; never asserts.
// Run: npm run bench:cli   (builds dist/cli first; env: BENCH_CLI_N runs of each, default 15)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { HARROW_BIN, REPO_ROOT } from '../test/e2e/harness.ts';
import {
  kubectlMissing,
  kubevirtVm,
  lanNetwork,
  startKubectlServer,
} from '../test/e2e/kubectl-harness.ts';

const N = Number(process.env.BENCH_CLI_N ?? 15);
const VMS = 5;

const NETWORK = lanNetwork('198.18.62.0/24');

/** Milliseconds from spawn to exit of one command that must succeed. */
function timed(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    execFile(file, args, { env, cwd: REPO_ROOT }, (error, _stdout, stderr) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${stderr || error.message}`));
      else resolve(ms);
    });
  });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const missing = kubectlMissing();
if (missing) {
  console.log(`bench:cli skipped: ${missing}`);
  process.exit(0);
}
const server = await startKubectlServer();
try {
  await server.ok(['apply', '-f', '-'], NETWORK);
  for (let i = 0; i < VMS; i++)
    await server.ok(['apply', '-f', '-'], kubevirtVm(`bench-${i}`, undefined, 'Halted'));
  const env = { ...process.env, HARROW_KUBECONFIG: server.kubeconfig };
  const runs = {
    'harrow get vm (dist/cli build)': () =>
      timed(HARROW_BIN, ['get', 'vm'], { ...env, HARROW_FROM_SOURCE: '0' }),
    'harrow get vm (sources through tsx)': () =>
      timed(HARROW_BIN, ['get', 'vm'], { ...env, HARROW_FROM_SOURCE: '1' }),
    'kubectl get vm': () => timed('kubectl', ['--kubeconfig', server.kubeconfig, 'get', 'vm'], env),
  };
  const times = new Map<string, number[]>(Object.keys(runs).map((k) => [k, []]));
  // Interleaved, so a burst of load from elsewhere lands on every command alike; one warm-up round first.
  for (let round = 0; round <= N; round++) {
    for (const [label, run] of Object.entries(runs)) {
      const ms = await run();
      if (round > 0) times.get(label)!.push(ms);
    }
  }
  const baseline = median(times.get('kubectl get vm')!);
  assert.ok(baseline > 0);
  console.log(
    `harrow get vm vs kubectl get vm, ${VMS} VMs, median of ${N} runs each (load average ${loadavg()[0]!.toFixed(1)}):`,
  );
  for (const [label, values] of times) {
    const m = median(values);
    console.log(
      `  ${label.padEnd(38)} ${m.toFixed(0).padStart(6)} ms   ${(m / baseline).toFixed(2)}× kubectl   (min ${Math.min(...values).toFixed(0)} ms)`,
    );
  }
} finally {
  server.stop();
}
