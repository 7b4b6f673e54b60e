// `harrow down`: stops a data dir's server and removes every guest, namespace, link, nftables table and dnsmasq its
// qemu runtime left on this host — with or without a running server, with or without the data dir.
import { basename, dirname, resolve } from 'node:path';
import type { InstanceHoldings, InstanceRemoval } from '../runtime/qemu/teardown.ts';
import { parseDuration } from './args.ts';
import type { CommandContext } from './context.ts';
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from './errors.ts';
import { printData } from './output.ts';
import { AGENT_FILE, liveServerFile } from './serve.ts';
import { formatTable } from './table.ts';
import type { ParsedCommandLine } from './args.ts';

const DEFAULT_SERVER_TIMEOUT = '60s';

interface Target {
  instanceId: string;
  /** Absolute; may no longer exist. Undefined with --instance-id. */
  dataDir?: string;
}

interface ServerStop {
  command: 'serve' | 'agent';
  pid: number;
  /** SIGTERM: it shut down cleanly; SIGKILL: it did not within --timeout. */
  signal: 'SIGTERM' | 'SIGKILL';
}

// Loaded when run, not when the CLI starts: every other command starts without them.
const naming = () => import('../runtime/choice.ts');
const teardown = () => import('../runtime/qemu/teardown.ts');
const names = () => import('../runtime/qemu/names.ts');
const procfs = () => import('../runtime/qemu/procfs.ts');

async function targetOf(ctx: CommandContext, values: Record<string, unknown>): Promise<Target> {
  const dir = values['data-dir'] as string | undefined;
  const id = values['instance-id'] as string | undefined;
  if (dir !== undefined && id !== undefined)
    throw new UsageError('down: give --data-dir or --instance-id, not both', 'down');
  if (id !== undefined) {
    try {
      return { instanceId: (await names()).checkInstanceId(id) };
    } catch (e) {
      throw new UsageError(
        `down: --instance-id ${(e as Error).message.replace(/^instanceId /, '')}`,
        'down',
      );
    }
  }
  // As `harrow serve` resolves it, so the same directory names the same instance.
  const dataDir = resolve(ctx.io.cwd, dir ?? '.harrow');
  return { instanceId: (await naming()).qemuInstanceId(dataDir), dataDir };
}

/** The data dir an instance's state dir lies in, when the instance is named after it (as `harrow serve` names it). */
async function dataDirOf(h: InstanceHoldings): Promise<string | undefined> {
  if (!h.stateDir || basename(h.stateDir) !== 'qemu') return undefined;
  const dataDir = dirname(h.stateDir);
  return (await naming()).qemuInstanceId(dataDir) === h.instanceId ? dataDir : undefined;
}

/** The processes that run a data dir's runtime, and the file each names itself in. */
const RUNNERS = [
  { command: 'serve', file: 'server.json' },
  { command: 'agent', file: AGENT_FILE },
] as const;

/** SIGTERM to the data dir's `harrow serve` or `harrow agent`, SIGKILL when it has not stopped within `timeoutMs`. */
async function stopRunners(
  ctx: CommandContext,
  dataDir: string,
  timeoutMs: number,
): Promise<ServerStop[]> {
  const { commandLine, waitForExit } = await procfs();
  const stopped: ServerStop[] = [];
  for (const { command, file } of RUNNERS) {
    const live = liveServerFile(dataDir, file);
    if (!live) continue;
    // The file outlives a SIGKILLed process; its pid may since belong to another program.
    if (!(await commandLine(live.pid))?.includes(command)) continue;
    ctx.io.stderr.write(`stopping harrow ${command} (pid ${live.pid})…\n`);
    process.kill(live.pid, 'SIGTERM');
    if (await waitForExit(live.pid, timeoutMs)) {
      stopped.push({ command, pid: live.pid, signal: 'SIGTERM' });
      continue;
    }
    ctx.io.stderr.write(
      `harrow ${command} (pid ${live.pid}) did not stop within ${timeoutMs / 1000} s: SIGKILL\n`,
    );
    process.kill(live.pid, 'SIGKILL');
    if (!(await waitForExit(live.pid, 5_000)))
      throw new CliError(`harrow ${command} (pid ${live.pid}) survived SIGKILL`);
    stopped.push({ command, pid: live.pid, signal: 'SIGKILL' });
  }
  return stopped;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `bridge hb-a, hb-b; veth hv1, hv2` */
function linksByKind(h: InstanceHoldings): string {
  const byKind = new Map<string, string[]>();
  for (const l of h.hostNamespace?.links ?? []) {
    const kind = l.kind ?? 'device';
    byKind.set(kind, [...(byKind.get(kind) ?? []), l.name]);
  }
  return [...byKind].map(([kind, list]) => `${kind} ${list.join(', ')}`).join('; ');
}

/** One line per thing removed, in the order it went. */
export function removalLines(removal: InstanceRemoval): string[] {
  const { removed } = removal;
  const lines: string[] = [];
  for (const g of removed.guests)
    lines.push(`stopped guest ${g.vmi ? `${g.vmi} ` : ''}(vmi ${g.vmiUid}, QEMU pid ${g.pid})`);
  for (const p of removed.processes)
    lines.push(
      `stopped ${p.command} (pid ${p.pid}${p.bridge ? `, bridge ${p.bridge}` : ''}) in ${p.namespace}`,
    );
  for (const name of removed.rootLinks) lines.push(`removed link ${name} (root namespace)`);
  for (const ns of removed.podNamespaces) lines.push(`removed pod namespace ${ns}`);
  const host = removed.hostNamespace;
  if (host) {
    const links = linksByKind(removed);
    const tables = host.nftTables.length > 0 ? `nftables ${host.nftTables.join(', ')}` : '';
    const held = [links, tables].filter(Boolean).join('; ');
    lines.push(`removed host namespace ${host.name}${held ? ` with ${held}` : ''}`);
  }
  if (removal.removedState.length > 0)
    lines.push(
      `removed records ${removal.removedState.join(', ')} (persistent disks, the store and the data dir stay)`,
    );
  return lines;
}

async function list(ctx: CommandContext, only: Target | undefined): Promise<number> {
  const { findInstance, findInstances } = await teardown();
  const found = only ? [await findInstance(only.instanceId)] : await findInstances();
  const rows = await Promise.all(
    found.map(async (h) => {
      const dataDir = only?.dataDir ?? (await dataDirOf(h));
      const server = dataDir
        ? (liveServerFile(dataDir) ?? liveServerFile(dataDir, AGENT_FILE))
        : undefined;
      return { holdings: h, dataDir, server };
    }),
  );
  if (ctx.globals.output !== 'table') {
    printData(
      ctx.io,
      ctx.globals.output,
      rows.map((r) => ({
        ...r.holdings,
        ...(r.dataDir ? { dataDir: r.dataDir } : {}),
        ...(r.server ? { server: { pid: r.server.pid, url: r.server.url } } : {}),
      })),
    );
    return EXIT_OK;
  }
  if (rows.length === 0) {
    ctx.io.stdout.write('No Harrow qemu instance holds anything on this host.\n');
    return EXIT_OK;
  }
  ctx.io.stdout.write(
    formatTable(
      [
        'INSTANCE',
        'DATA DIR',
        'SERVER',
        'HOST NAMESPACE',
        'GUESTS',
        'PODS',
        'BRIDGES',
        'PROCESSES',
      ],
      rows.map(({ holdings: h, dataDir, server }) => [
        h.instanceId,
        dataDir ?? '(unknown)',
        server ? `pid ${server.pid}` : '-',
        h.hostNamespace?.name ?? '-',
        h.guests.map((g) => g.vmi ?? g.vmiUid).join(',') || '0',
        String(h.podNamespaces.length),
        (h.hostNamespace?.links ?? [])
          .filter((l) => l.kind === 'bridge')
          .map((l) => l.name)
          .join(',') || '-',
        h.processes.map((p) => p.command).join(',') || '-',
      ]),
    ),
  );
  return EXIT_OK;
}

export async function runDown(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const v = args.values;
  const explicit = v['data-dir'] !== undefined || v['instance-id'] !== undefined;
  const target = await targetOf(ctx, v);
  if (v.list === true) return list(ctx, explicit ? target : undefined);
  const timeoutMs = parseDuration(
    (v.timeout as string | undefined) ?? DEFAULT_SERVER_TIMEOUT,
    '--timeout',
  );
  const started = performance.now();
  const stopped = target.dataDir ? await stopRunners(ctx, target.dataDir, timeoutMs) : [];
  const { findInstance, holdsNothing, removeInstance } = await teardown();
  const { qemuStateDir } = await naming();
  const stateDir = target.dataDir ? qemuStateDir(target.dataDir) : undefined;
  const before = await findInstance(target.instanceId, stateDir ? { stateDir } : {});
  if (!holdsNothing(before) && process.getuid?.() !== 0) {
    throw new CliError(
      `down: instance ${target.instanceId} holds guests or namespaces on this host; removing them needs root`,
    );
  }
  const removal = await removeInstance(target.instanceId, stateDir ? { stateDir } : {});
  const seconds = (performance.now() - started) / 1000;
  const ok = holdsNothing(removal.left);
  if (ctx.globals.output !== 'table') {
    printData(ctx.io, ctx.globals.output, {
      instanceId: target.instanceId,
      ...(target.dataDir ? { dataDir: target.dataDir } : {}),
      stopped,
      removed: removal.removed,
      removedState: removal.removedState,
      left: removal.left,
      seconds: Number(seconds.toFixed(3)),
    });
    return ok ? EXIT_OK : EXIT_FAILURE;
  }
  const where = target.dataDir ? ` (data dir ${target.dataDir})` : '';
  const out = ctx.io.stdout;
  out.write(`harrow down: instance ${target.instanceId}${where}\n`);
  for (const p of stopped)
    out.write(
      `stopped harrow ${p.command} (pid ${p.pid}${p.signal === 'SIGKILL' ? ', killed: it did not stop in time' : ''})\n`,
    );
  const lines = removalLines(removal);
  for (const line of lines) out.write(`${line}\n`);
  if (stopped.length === 0 && lines.length === 0)
    out.write('nothing to remove: it holds nothing on this host\n');
  if (!ok) {
    ctx.io.stderr.write(`error: still there after removal: ${JSON.stringify(removal.left)}\n`);
    return EXIT_FAILURE;
  }
  out.write(
    `done in ${seconds.toFixed(1)} s (${plural(removal.removed.guests.length, 'guest')}, ${plural(removal.removed.podNamespaces.length, 'pod namespace')})\n`,
  );
  return EXIT_OK;
}
