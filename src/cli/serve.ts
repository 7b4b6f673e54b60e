// `harrow serve`: runs the whole single-host control plane in this process until SIGINT/SIGTERM.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HarrowOptions, RunningHarrow } from '../server/harrow.ts';
import { HarrowClient } from '../client/client.ts';
import { validateDns1123Label } from '../resources/names.ts';
import { type CliIO } from './context.ts';
import { CliError, UsageError } from './errors.ts';
import { ensureDemo } from './demo.ts';
import { storeFlags } from './store-flags.ts';
import type { ParsedCommandLine } from './args.ts';
import type { CommandContext } from './context.ts';

const RUNTIMES = ['sim', 'qemu', 'auto'] as const;

export interface ServerFile {
  url: string;
  pid: number;
  [field: string]: unknown;
}

/** `--global-namespaces a,b` (empty: none, so every workload uses only its own namespace's networks). */
function globalNamespacesFlag(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    const causes = validateDns1123Label(name, '--global-namespaces');
    if (causes.length > 0)
      throw new UsageError(`serve: --global-namespaces ${name}: ${causes[0]!.message}`, 'serve');
  }
  return names;
}

/** What a running `harrow agent` writes in its data dir, as `harrow serve` writes server.json. */
export const AGENT_FILE = 'agent.json';

/** `<dataDir>/server.json` (or an agent's `agent.json`) when it names a process that is still alive. */
export function liveServerFile(dataDir: string, file = 'server.json'): ServerFile | undefined {
  const path = join(dataDir, file);
  if (!existsSync(path)) return undefined;
  let info: ServerFile;
  try {
    info = JSON.parse(readFileSync(path, 'utf8')) as ServerFile;
  } catch {
    return undefined;
  }
  if (typeof info.pid !== 'number' || info.pid === process.pid) return undefined;
  try {
    process.kill(info.pid, 0);
    return info;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? info : undefined;
  }
}

export async function writeServerFile(
  dataDir: string,
  info: ServerFile,
  file = 'server.json',
): Promise<void> {
  const path = join(dataDir, file);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(info) + '\n', { mode: 0o600 });
  await rename(tmp, path);
}

/** Makes sure server.json names this process (the composition root writes it; an older one may not). */
async function ensureServerFile(dataDir: string, url: string, runtime: string): Promise<void> {
  try {
    const info = JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as ServerFile;
    if (info.pid === process.pid && info.url === url) return;
  } catch {
    // absent or unreadable: write it
  }
  await writeServerFile(dataDir, { url, pid: process.pid, runtime });
}

export async function removeServerFile(dataDir: string, file = 'server.json'): Promise<void> {
  const path = join(dataDir, file);
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as ServerFile;
    if (info.pid === process.pid) await rm(path, { force: true });
  } catch {
    // nothing of ours to remove
  }
}

const HARROW_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'harrow');

/** How the user reaches this harrow from the shell: `harrow` when it is on PATH, else bin/harrow's path from here. */
export function harrowCommand(
  path = process.env.PATH ?? '',
  cwd = process.cwd(),
  bin = HARROW_BIN,
): string {
  const onPath = path
    .split(delimiter)
    .filter((d) => d !== '')
    .some((d) => {
      const candidate = join(d, 'harrow');
      try {
        return existsSync(candidate) && realpathSync(candidate) === realpathSync(bin);
      } catch {
        return false;
      }
    });
  if (onPath) return 'harrow';
  const rel = relative(cwd, bin);
  return rel.startsWith('..') ? bin : rel;
}

/** The `harrow down` line for this data dir, as the user would type it here. */
export function downCommandFor(dataDir: string, cwd = process.cwd()): string {
  const flag =
    dataDir === resolve(cwd, '.harrow')
      ? ''
      : ` --data-dir ${/^[\w@%+=:,./-]+$/.test(dataDir) ? dataDir : `'${dataDir.replaceAll("'", `'\\''`)}'`}`;
  return `${harrowCommand()} down${flag}`;
}

function summary(running: RunningHarrow, dataDir: string, teardownOnExit: boolean): string {
  const harrow = harrowCommand();
  const runtime = running.runtimeNote
    ? `${running.runtime} (${running.runtimeNote})`
    : running.runtime;
  return [
    `Harrow is serving the API at ${running.url}`,
    `  web UI:     ${running.uiUrl ?? `not built (npm run build:web, then restart)`}`,
    `  runtime:    ${runtime}`,
    `  token:      ${join(dataDir, 'admin.token')}`,
    `  kubeconfig: ${running.kubeconfig}`,
    `Use it from another shell:`,
    `  export HARROW_KUBECONFIG=${running.kubeconfig}`,
    `  ${harrow} get vm -A`,
    ...(running.url.startsWith('https:')
      ? [`  kubectl --kubeconfig ${running.kubeconfig} get vm -A`]
      : []),
    running.runtime === 'qemu' && !teardownOnExit
      ? `Stop with Ctrl-C; the guests keep running until \`${downCommandFor(dataDir)}\` removes them.`
      : `Stop with Ctrl-C.`,
    '',
  ].join('\n');
}

/** Resolves with the signal's name once SIGINT or SIGTERM arrives; a second one exits at once. */
export function untilSignal(io: CliIO): Promise<string> {
  return new Promise((resolveSignal) => {
    let seen = false;
    const on = (signal: string): void => {
      if (seen) {
        io.stderr.write(`harrow: ${signal} again: exiting without a clean shutdown\n`);
        process.exit(130);
      }
      seen = true;
      resolveSignal(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** The --rate-limit, --rate-burst, --max-watches, --max-list-limit and --request-timeout flags given, as the API server's limits. */
function limitFlags(v: Record<string, unknown>): NonNullable<HarrowOptions['limits']> {
  const positive = (flag: string): number | undefined => {
    const text = v[flag] as string | undefined;
    if (text === undefined) return undefined;
    if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0)
      throw new UsageError(`serve: --${flag} ${text}: a positive number`, 'serve');
    return Number(text);
  };
  const whole = (flag: string): number | undefined => {
    const n = positive(flag);
    if (n !== undefined && !Number.isInteger(n))
      throw new UsageError(`serve: --${flag} ${String(v[flag])}: a whole number`, 'serve');
    return n;
  };
  const rate = positive('rate-limit');
  const burst = whole('rate-burst');
  const watches = whole('max-watches');
  const list = whole('max-list-limit');
  const timeout = positive('request-timeout');
  return {
    ...(timeout !== undefined ? { requestTimeoutSeconds: timeout } : {}),
    ...(rate !== undefined ? { requestsPerSecond: rate } : {}),
    ...(burst !== undefined ? { burst } : {}),
    ...(watches !== undefined ? { watchesPerClient: watches } : {}),
    ...(list !== undefined ? { maxListLimit: list } : {}),
  };
}

export async function runServe(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const v = args.values;
  const dataDir = resolve(ctx.io.cwd, (v['data-dir'] as string | undefined) ?? '.harrow');
  const runtime = (v.runtime as string | undefined) ?? 'auto';
  if (!(RUNTIMES as readonly string[]).includes(runtime)) {
    throw new UsageError(`serve: --runtime ${runtime}: one of ${RUNTIMES.join(', ')}`, 'serve');
  }
  const quarantine = v['quarantine-seconds'] as string | undefined;
  if (quarantine !== undefined && !/^\d+$/.test(quarantine)) {
    throw new UsageError(
      `serve: --quarantine-seconds ${quarantine}: a whole number of seconds`,
      'serve',
    );
  }
  const tls = (v.tls as string | undefined) ?? 'auto';
  if (tls !== 'off' && tls !== 'auto')
    throw new UsageError(`serve: --tls ${tls}: one of off, auto`, 'serve');
  const limits = limitFlags(v);
  const store = storeFlags(v);
  const globalNamespaces = globalNamespacesFlag(v['global-namespaces'] as string | undefined);
  const other = liveServerFile(dataDir);
  if (other)
    throw new CliError(`another harrow (pid ${other.pid}) is serving ${dataDir} at ${other.url}`);

  const options: HarrowOptions = {
    dataDir,
    listen: (v.listen as string | undefined) ?? '127.0.0.1:8080',
    runtime: runtime as HarrowOptions['runtime'],
    ...(v['log-level'] !== undefined ? { logLevel: v['log-level'] as string } : {}),
    ...(quarantine !== undefined ? { quarantineSeconds: Number(quarantine) } : {}),
    ...(v['node-name'] !== undefined ? { nodeName: v['node-name'] as string } : {}),
    tls,
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
    ...(v['no-local-node'] === true ? { localNode: false } : {}),
    ...(store ? { store } : {}),
    ...(globalNamespaces ? { globalNetworkNamespaces: globalNamespaces } : {}),
    ...(v['teardown-on-exit'] === true ? { teardownOnExit: true } : {}),
  };
  const signal = untilSignal(ctx.io);
  // Loaded here, not at the top, so that every other command starts without the server's dependencies.
  const { startHarrow } = await import('../server/harrow.ts');
  const running = await startHarrow(options);
  let code = 0;
  try {
    await ensureServerFile(dataDir, running.url, running.runtime);
    ctx.io.stdout.write(summary(running, dataDir, options.teardownOnExit === true));
    if (v.demo === true) {
      const client = new HarrowClient({
        server: running.url,
        token: running.token,
        ...(running.caCert !== undefined ? { ca: running.caCert } : {}),
      });
      for (const line of await ensureDemo(client)) ctx.io.stdout.write(`demo: ${line}\n`);
      ctx.io.stdout.write(`demo: try \`${harrowCommand()} describe vm demo -n demo\`\n`);
    }
    const got = await signal;
    ctx.io.stderr.write(`harrow: ${got}: shutting down\n`);
  } catch (e) {
    ctx.io.stderr.write(`error: ${(e as Error).message}\n`);
    code = 1;
  }
  try {
    await running.close();
  } catch (e) {
    ctx.io.stderr.write(`error: shutdown: ${(e as Error).message}\n`);
    code = 1;
  }
  await removeServerFile(dataDir);
  // By design guests outlive the server (as VMs outlive a control plane); say how to remove them for good.
  if (running.runtime === 'qemu' && options.teardownOnExit !== true) {
    ctx.io.stderr.write(
      `harrow: the guests keep running; the next \`harrow serve\` on ${dataDir} takes them over.\n` +
        `  To stop them and remove their namespaces, bridges and dnsmasq: ${downCommandFor(dataDir)}\n`,
    );
  }
  return code;
}
