// scripts/up with each environment variable its header documents: it starts, creates the demo through its own client,
// answers the CLI with the kubeconfig it wrote, and stops cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT, killProcessesUsing, runCli, waitFor } from './harness.ts';

// HARROW_DATA_DIR, HARROW_LISTEN (port 0: a free one) and HARROW_SKIP_SETUP=1 (setup already ran) are in every case;
// HARROW_RUNTIME=qemu and auto (which picks qemu as root) are exercised by the qemu suites, not booted here again.
const CASES: Array<{ env: Record<string, string>; scheme: 'https' | 'http' }> = [
  { env: {}, scheme: 'https' },
  { env: { HARROW_TLS: 'auto' }, scheme: 'https' },
  { env: { HARROW_TLS: 'off' }, scheme: 'http' },
  { env: { HARROW_RUNTIME: 'sim', HARROW_TLS: 'auto' }, scheme: 'https' },
];

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once('exit', (code) => resolve(code)));

describe(
  'scripts/up starts with each documented environment variable',
  { concurrency: false },
  () => {
    const root = mkdtempSync(join(tmpdir(), 'harrow-up-env-'));
    const children: ChildProcess[] = [];
    after(() => {
      for (const child of children) {
        try {
          if (child.exitCode === null && child.pid !== undefined)
            process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      killProcessesUsing(root);
      rmSync(root, { recursive: true, force: true });
    });

    CASES.forEach(({ env, scheme }, i) => {
      const label = Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      it(`${label || '(defaults)'}: serves ${scheme}, creates the demo, answers the CLI, stops on SIGTERM`, async () => {
        const dataDir = join(root, `data-${i}`);
        let log = '';
        const up = spawn(join(REPO_ROOT, 'scripts', 'up'), [], {
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            HARROW_SKIP_SETUP: '1',
            HARROW_DATA_DIR: dataDir,
            HARROW_LISTEN: '127.0.0.1:0',
            HARROW_RUNTIME: 'sim',
            ...env,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
        children.push(up);
        up.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
        up.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
        await waitFor(
          () => {
            if (up.exitCode !== null) throw new Error(`scripts/up exited ${up.exitCode}:\n${log}`);
            return /demo: try /.test(log);
          },
          { timeoutMs: 120_000, intervalMs: 200, message: `scripts/up creating the demo:\n${log}` },
        );
        assert.match(
          log,
          new RegExp(`Harrow is serving the API at ${scheme}://127\\.0\\.0\\.1:\\d+`),
        );
        assert.match(log, /demo: (created|.* exists)/);
        // scripts/up runs from the repository, where `harrow` is bin/harrow unless it is on PATH.
        assert.match(log, /^ {2}(bin\/harrow|harrow) get vm -A$/m);
        assert.match(log, /^ {2}web UI: {5}(https?:\/\/127\.0\.0\.1:\d+\/ui\/|not built)/m);
        const kubeconfig = join(dataDir, 'kubeconfig');
        assert.match(readFileSync(kubeconfig, 'utf8'), new RegExp(`server: ${scheme}://`));
        const got = await runCli(['get', 'vm', '-n', 'demo'], {
          env: { HARROW_KUBECONFIG: kubeconfig },
        });
        assert.equal(got.code, 0, got.stderr);
        assert.match(got.stdout, /^demo\s/m);
        process.kill(-up.pid!, 'SIGTERM');
        assert.equal(await exited(up), 0, log);
        assert.match(log, /SIGTERM: shutting down/);
      });
    });
  },
);
