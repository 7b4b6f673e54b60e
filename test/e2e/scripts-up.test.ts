// scripts/up with each environment variable the README and its header document: it starts, creates the demo through its
// own client, answers the CLI with the kubeconfig it wrote, and stops cleanly on SIGTERM; each variable's own effect is
// checked too (the scheme, the runtime, the log's format and level, the port).
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HARROW_BIN, killProcessesUsing, runCli, spawnScriptsUp, waitFor } from './harness.ts';
import { runtimesUnderTest } from './runtimes.ts';

const qemuSkip = runtimesUnderTest().find((r) => r.name === 'qemu')!.skip;

/** A port free on loopback now (for HARROW_LISTEN with a port of its own). */
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

interface Case {
  env: Record<string, string | (() => Promise<string>)>;
  scheme: 'https' | 'http';
  /** The runtime its banner must name. */
  runtime?: 'sim' | 'qemu';
  skip?: string | false;
  /** What else the log must show, given the URL it serves. */
  check?: (log: string, url: string, env: Record<string, string>) => void;
}

const jsonLines = (log: string): Array<Record<string, unknown>> =>
  log
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

// HARROW_DATA_DIR, HARROW_LISTEN (port 0: a free one, unless the case names a port) and HARROW_SKIP_SETUP=1 (setup
// already ran) are in every case, and HARROW_RUNTIME=sim unless the case names another runtime. qemu and auto (which
// picks qemu where real guests can run) need root and QEMU: skipped, saying why, elsewhere; their guests outlive
// scripts/up, so `harrow down --data-dir` removes them after.
const CASES: Case[] = [
  { env: {}, scheme: 'https', runtime: 'sim' },
  { env: { HARROW_TLS: 'auto' }, scheme: 'https' },
  { env: { HARROW_TLS: 'off' }, scheme: 'http' },
  { env: { HARROW_RUNTIME: 'sim', HARROW_TLS: 'auto' }, scheme: 'https', runtime: 'sim' },
  { env: { HARROW_RUNTIME: 'qemu' }, scheme: 'https', runtime: 'qemu', skip: qemuSkip ?? false },
  { env: { HARROW_RUNTIME: 'auto' }, scheme: 'https', runtime: 'qemu', skip: qemuSkip ?? false },
  {
    env: { HARROW_LISTEN: async () => `127.0.0.1:${await freePort()}` },
    scheme: 'https',
    check: (_log, url, env) => assert.equal(url, `https://${env.HARROW_LISTEN}`),
  },
  {
    env: { HARROW_LOG_FORMAT: 'json' },
    scheme: 'https',
    check: (log) =>
      assert.ok(
        jsonLines(log).some((l) => l.msg === 'harrow ready'),
        log,
      ),
  },
  {
    env: { HARROW_LOG_FORMAT: 'pretty' },
    scheme: 'https',
    check: (log) => {
      assert.match(log, /INFO.*harrow ready/);
      assert.equal(jsonLines(log).length, 0, log);
    },
  },
  {
    env: { HARROW_LOG_FORMAT: 'json', HARROW_LOG_LEVEL: 'warn' },
    scheme: 'https',
    check: (log) => {
      assert.doesNotMatch(log, /harrow ready/, 'an info line at level warn');
      const lines = jsonLines(log);
      assert.ok(
        lines.every((l) => Number(l.level) >= 40),
        `only warn and above: ${log}`,
      );
    },
  },
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

    CASES.forEach(({ env: caseEnv, scheme, runtime, skip, check }, i) => {
      const label = Object.entries(caseEnv)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : '127.0.0.1:PORT'}`)
        .join(' ');
      it(
        `${label || '(defaults)'}: serves ${scheme}, creates the demo, answers the CLI, stops on SIGTERM`,
        { skip },
        async () => {
          const env: Record<string, string> = {};
          for (const [k, v] of Object.entries(caseEnv))
            env[k] = typeof v === 'string' ? v : await v();
          const dataDir = join(root, `data-${i}`);
          if (env.HARROW_RUNTIME !== undefined && env.HARROW_RUNTIME !== 'sim')
            after(() => {
              execFileSync(HARROW_BIN, ['down', '--data-dir', dataDir], { stdio: 'ignore' });
            });
          const { child: up, log } = spawnScriptsUp(dataDir, env);
          children.push(up);
          await waitFor(
            () => {
              if (up.exitCode !== null)
                throw new Error(`scripts/up exited ${up.exitCode}:\n${log()}`);
              return /demo: try /.test(log());
            },
            {
              timeoutMs: 120_000,
              intervalMs: 200,
              message: `scripts/up creating the demo:\n${log()}`,
            },
          );
          const url = new RegExp(
            `Harrow is serving the API at (${scheme}://127\\.0\\.0\\.1:\\d+)`,
          ).exec(log())?.[1];
          assert.ok(url, log());
          if (runtime) assert.match(log(), new RegExp(`^ {2}runtime: {4}${runtime}$`, 'm'));
          check?.(log(), url, env);
          assert.match(log(), /demo: (created|.* exists)/);
          // scripts/up runs from the repository, where `harrow` is bin/harrow unless it is on PATH.
          assert.match(log(), /^ {2}(bin\/harrow|harrow) get vm -A$/m);
          assert.match(log(), /^ {2}web UI: {5}(https?:\/\/127\.0\.0\.1:\d+\/ui\/|not built)/m);
          const kubeconfig = join(dataDir, 'kubeconfig');
          assert.match(readFileSync(kubeconfig, 'utf8'), new RegExp(`server: ${scheme}://`));
          const got = await runCli(['get', 'vm', '-n', 'demo'], {
            env: { HARROW_KUBECONFIG: kubeconfig },
          });
          assert.equal(got.code, 0, got.stderr);
          assert.match(got.stdout, /^demo\s/m);
          process.kill(-up.pid!, 'SIGTERM');
          assert.equal(await exited(up), 0, log());
          assert.match(log(), /SIGTERM: shutting down/);
        },
      );
    });
  },
);
