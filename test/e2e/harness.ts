// Shared end-to-end harness: runs `bin/harrow serve` as a child process on a temp data dir, and the CLI against it.
//
// Usage (node:test):
//
//   import { startServer, waitFor } from './harness.ts';
//   const server = await startServer();            // sim runtime, 127.0.0.1:<free port>, fresh temp data dir
//   after(() => server.stop());                    // always: kills the process group, removes the data dir
//   await server.client.create('VirtualMachine', { namespace: 'default' }, vm);
//   const r = await server.cli(['get', 'vm', '-o', 'json']);   // → { code, stdout, stderr }
//   const vmi = await waitFor(() => server.client.get(...).then((v) => v.status?.phase === 'Running' && v),
//                             { timeoutMs: 30_000, message: 'vm-a running' });
//   await server.kill('SIGKILL'); await server.restart();       // crash, then start again on the same data dir/port
//
// API
//   startServer(opts?: { runtime?: 'sim' | 'qemu'; env?: Record<string,string>; args?: string[]; startTimeoutMs?: number;
//                        teardownOnExit?: boolean })
//     → Promise<HarrowServer>. Spawns `bin/harrow serve --data-dir <tmp> --listen 127.0.0.1:0 --runtime <sim> --tls off` in its
//     own process group, waits for <dataDir>/server.json naming that process and for GET /readyz = 200.
//   HarrowServer:
//     url, token, dataDir, pid        (url/token/pid are current: they change on restart only if the port must)
//     kubeconfig                      <dataDir>/kubeconfig
//     client: HarrowClient            for url/token (replaced on restart; read it from the object, not a copy); with
//                                     args ['--tls', 'auto'] it trusts the CA the server made in <dataDir>/pki
//     cli(args, { stdin?, env?, timeoutMs? }) → { code, stdout, stderr }   runs bin/harrow with
//                                     HARROW_KUBECONFIG=<dataDir>/kubeconfig; never throws on a non-zero code
//     logs(): string                  the server's stdout+stderr so far (put it in assertion messages)
//     restart(): stop (SIGTERM, then SIGKILL) if running, start again on the same data dir and port
//     kill(signal = 'SIGKILL') → exit {code, signal} once the process group leader exited (SIGSTOP/SIGCONT/SIGUSR*:
//                                     at once, {null, null}); the data dir stays (for restart())
//     stop(): SIGTERM → SIGKILL after 10 s; qemu: `harrow down --data-dir` if the instance still holds guests,
//                                     namespaces or links (host-footprint.ts); kills what still names the data dir (the
//                                     qemu runtime's dnsmasq), then removes the data dir. Idempotent. Also done at
//                                     process exit.
//   waitFor(fn, { timeoutMs = 30_000, intervalMs = 200, message }) → the first truthy value fn returns (errors thrown
//     by fn count as "not yet"); on timeout throws `${message}: timed out after Nms; last observed: …`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { HarrowClient } from '../../src/client/client.ts';
import { footprint } from './host-footprint.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HARROW_BIN = join(REPO_ROOT, 'bin', 'harrow');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  stdin?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface StartOptions {
  runtime?: 'sim' | 'qemu';
  /** Extra environment for the server process. */
  env?: Record<string, string>;
  /** Extra `harrow serve` flags, e.g. ['--quarantine-seconds', '2']. */
  args?: string[];
  startTimeoutMs?: number;
  /** qemu: pass --teardown-on-exit (default true); false leaves the guests running after a stop, as in production. */
  teardownOnExit?: boolean;
}

export interface HarrowServer {
  readonly url: string;
  readonly token: string;
  readonly dataDir: string;
  readonly kubeconfig: string;
  readonly pid: number;
  readonly client: HarrowClient;
  cli(args: string[], options?: CliOptions): Promise<CliResult>;
  logs(): string;
  restart(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  message?: string;
}

/** Polls `fn` until it returns a truthy value, which it returns; throws with the last value (or error) on timeout. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

export async function waitFor<T>(
  fn: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as Truthy<T>;
      last = v;
    } catch (e) {
      last = e instanceof Error ? `${e.name}: ${e.message}` : e;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `${options.message ?? 'waitFor'}: timed out after ${timeoutMs}ms; last observed: ${inspect(last, { depth: 6, breakLength: 120 })}`,
      );
    }
    await new Promise((r) =>
      setTimeout(r, Math.min(intervalMs, Math.max(1, deadline - Date.now()))),
    );
  }
}

/** Runs bin/harrow with the given args and environment (no server needed, e.g. for usage errors). */
export function runCli(
  args: string[],
  options: CliOptions & { cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(HARROW_BIN, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `harrow ${args.join(' ')}: no exit after ${options.timeoutMs ?? 60_000}ms; stdout: ${stdout}; stderr: ${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/**
 * `scripts/up` as the quick start runs it, setup already done (CI runs scripts/setup first): data dir DATA_DIR, a free
 * loopback port, the sim runtime unless `env` says otherwise. In its own process group (kill -PID stops it whole);
 * `log()` is its stdout and stderr so far.
 */
export function spawnScriptsUp(
  dataDir: string,
  env: Record<string, string> = {},
): { child: ChildProcess; log: () => string } {
  let log = '';
  const child = spawn(join(REPO_ROOT, 'scripts', 'up'), [], {
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
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  return { child, log: () => log };
}

/**
 * Kills every process whose command line names `dataDir`. The qemu runtime keeps networks (dnsmasq, daemonised out of
 * the server's process group) across a control-plane stop, as a host would; a test's temporary data dir must not.
 */
export function killProcessesUsing(dataDir: string): number[] {
  if (!existsSync('/proc')) return [];
  const killed: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    if (!cmdline.split('\0').some((arg) => arg === dataDir || arg.includes(`${dataDir}/`)))
      continue;
    try {
      process.kill(Number(entry), 'SIGKILL');
      killed.push(Number(entry));
    } catch {
      // already gone
    }
  }
  return killed;
}

/**
 * Whether a qemu server's instance still holds something on this host (its guests, namespaces, links, dnsmasq): the
 * server's own teardown was cut short (SIGKILL after the grace) or failed, or it was started to leave its guests.
 */
const leftBehind = (dataDir: string): boolean =>
  Object.values(footprint(dataDir)).some((found: string[]) => found.length > 0);

// Every server this process started, so that a crashed test run still leaves no process or directory behind.
const live = new Set<{ child?: ChildProcess; dataDir: string; qemu: boolean }>();
process.on('exit', () => {
  for (const s of live) {
    if (s.child?.pid !== undefined && s.child.exitCode === null && s.child.signalCode === null) {
      try {
        process.kill(-s.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (s.qemu && leftBehind(s.dataDir))
      spawnSync(HARROW_BIN, ['down', '--data-dir', s.dataDir], {
        stdio: 'ignore',
        timeout: 240_000,
      });
    killProcessesUsing(s.dataDir);
    rmSync(s.dataDir, { recursive: true, force: true });
  }
});

// A run that is interrupted (Ctrl-C, the test runner cancelling a file that ran over its timeout) ends through 'exit',
// so the hook above still removes what its servers made; by default these signals end the process without it.
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const)
  process.once(signal, () => process.exit(code));

const LOG_LIMIT = 200_000;
const NON_TERMINATING = new Set<NodeJS.Signals>([
  'SIGSTOP',
  'SIGCONT',
  'SIGTSTP',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
]);

function readServerFile(dataDir: string): { url: string; pid: number } | undefined {
  try {
    const v = JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as {
      url?: unknown;
      pid?: unknown;
    };
    return typeof v.url === 'string' && typeof v.pid === 'number'
      ? { url: v.url, pid: v.pid }
      : undefined;
  } catch {
    return undefined;
  }
}

export async function startServer(options: StartOptions = {}): Promise<HarrowServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'harrow-e2e-'));
  const slot: { child?: ChildProcess; dataDir: string; qemu: boolean } = {
    dataDir,
    qemu: options.runtime === 'qemu',
  };
  live.add(slot);
  let log = '';
  let url = '';
  let token = '';
  let client: HarrowClient | undefined;
  let listen = '127.0.0.1:0';
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({
    code: 0,
    signal: null,
  });
  let stopped = false;

  const append = (d: string): void => {
    log += d;
    if (log.length > LOG_LIMIT) log = log.slice(-LOG_LIMIT);
  };

  const launch = async (): Promise<void> => {
    const args = [
      'serve',
      '--data-dir',
      dataDir,
      '--listen',
      listen,
      '--runtime',
      options.runtime ?? 'sim',
      // A test's host is throwaway: its guests, pod namespaces, bridges and dnsmasq go with the server.
      ...(options.runtime === 'qemu' && options.teardownOnExit !== false
        ? ['--teardown-on-exit']
        : []),
      // Plain HTTP on loopback, asked for: the tests' fetch, Chromium and agents reach it without the CA.
      // TLS (the default) is tested through kubectl-harness.ts, serve-tls.test.ts and the clients' tests.
      ...(options.args?.includes('--tls') ? [] : ['--tls', 'off']),
      ...(options.args ?? []),
    ];
    const child = spawn(HARROW_BIN, args, {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: stop() and kill() reach everything it started
    });
    slot.child = child;
    child.stdout!.setEncoding('utf8').on('data', append);
    child.stderr!.setEncoding('utf8').on('data', append);
    // A test that forgets stop() must still end: the server does not hold the test process open; the exit hook kills it.
    child.unref();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
    exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
    let gone: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void exited.then((e) => (gone = e));
    const startTimeoutMs =
      options.startTimeoutMs ?? (options.runtime === 'qemu' ? 180_000 : 60_000);
    const info = await waitFor(
      () => {
        if (gone)
          throw new Error(
            `harrow serve exited (code ${gone.code}, signal ${gone.signal}) before it was ready:\n${log}`,
          );
        const f = readServerFile(dataDir);
        return f && f.pid === child.pid ? f : undefined;
      },
      {
        timeoutMs: startTimeoutMs,
        intervalMs: 100,
        message: `harrow serve in ${dataDir} writing server.json`,
      },
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n--- server output ---\n${log}`);
    });
    url = info.url;
    listen = new URL(url).host;
    token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
    // A server started with `--tls auto` is trusted through the CA it made in its data dir.
    const ca = url.startsWith('https:')
      ? readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8')
      : undefined;
    client = new HarrowClient({ server: url, token, ...(ca !== undefined ? { ca } : {}) });
    const c = client;
    await waitFor(() => c.ready(), {
      timeoutMs: startTimeoutMs,
      intervalMs: 100,
      message: `${url}/readyz`,
    });
  };

  const signalGroup = (signal: NodeJS.Signals): void => {
    const pid = slot.child?.pid;
    if (pid === undefined || slot.child!.exitCode !== null || slot.child!.signalCode !== null)
      return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };

  // The child is unref'd, so a wait for its exit needs something that keeps this process alive meanwhile.
  const untilExit = async (): Promise<{ code: number | null; signal: NodeJS.Signals | null }> => {
    const keepAlive = setInterval(() => {}, 1000);
    try {
      return await exited;
    } finally {
      clearInterval(keepAlive);
    }
  };

  const terminate = async (): Promise<void> => {
    if (!slot.child || slot.child.exitCode !== null || slot.child.signalCode !== null) return;
    signalGroup('SIGTERM');
    const timer = setTimeout(() => signalGroup('SIGKILL'), 10_000);
    await untilExit();
    clearTimeout(timer);
    // Children that outlived the leader (a runtime's helpers) go too.
    try {
      process.kill(-slot.child.pid!, 'SIGKILL');
    } catch {
      // the group is empty
    }
  };

  try {
    await launch();
  } catch (e) {
    await terminate();
    rmSync(dataDir, { recursive: true, force: true });
    live.delete(slot);
    throw e;
  }

  const server: HarrowServer = {
    get url() {
      return url;
    },
    get token() {
      return token;
    },
    get pid() {
      return slot.child?.pid ?? -1;
    },
    get client() {
      return client!;
    },
    dataDir,
    kubeconfig: join(dataDir, 'kubeconfig'),
    cli(args, o = {}) {
      return runCli(args, {
        ...o,
        env: { HARROW_KUBECONFIG: join(dataDir, 'kubeconfig'), ...o.env },
      });
    },
    logs: () => log,
    async restart() {
      if (stopped) throw new Error('restart() after stop()');
      await terminate();
      await launch();
    },
    async kill(signal = 'SIGKILL') {
      signalGroup(signal);
      // A stop/continue/user signal does not end the process: nothing to wait for.
      if (NON_TERMINATING.has(signal)) return { code: null, signal: null };
      return untilExit();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate();
      // Whatever the instance still holds goes as `harrow down` removes it: a failed test leaves nothing behind.
      if (slot.qemu && leftBehind(dataDir)) {
        const down = await runCli(['down', '--data-dir', dataDir], { timeoutMs: 240_000 });
        if (down.code !== 0)
          process.stderr.write(`harrow down --data-dir ${dataDir}: ${down.stdout}${down.stderr}\n`);
      }
      killProcessesUsing(dataDir);
      if (existsSync(dataDir)) rmSync(dataDir, { recursive: true, force: true });
      live.delete(slot);
    },
  };
  return server;
}
