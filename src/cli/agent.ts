// `harrow agent`: runs a node agent on this host against a control plane's API until SIGINT/SIGTERM.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError, UsageError } from './errors.ts';
import { AGENT_FILE, removeServerFile, untilSignal, writeServerFile } from './serve.ts';
import type { ParsedCommandLine } from './args.ts';
import type { CommandContext } from './context.ts';

const wholeNumber = (flag: string, v: unknown): number | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v))
    throw new UsageError(`agent: --${flag} ${String(v)}: a whole number`, 'agent');
  return Number(v);
};

export async function runAgent(ctx: CommandContext, args: ParsedCommandLine): Promise<number> {
  const v = args.values;
  const runtime = (v.runtime as string | undefined) ?? 'sim';
  if (runtime !== 'sim' && runtime !== 'qemu')
    throw new UsageError(`agent: --runtime ${runtime}: one of sim, qemu`, 'agent');
  const tokenFile = v['token-file'] as string | undefined;
  const token =
    ctx.globals.token ??
    (tokenFile !== undefined
      ? readFileSync(resolve(ctx.io.cwd, tokenFile), 'utf8').trim()
      : undefined);
  if (ctx.globals.server === undefined || token === undefined)
    throw new UsageError('agent: --server and --token (or --token-file) are required', 'agent');
  const caFile = v['certificate-authority'] as string | undefined;
  const ca = caFile !== undefined ? readFileSync(resolve(ctx.io.cwd, caFile), 'utf8') : undefined;
  const nodeName = v['node-name'] as string | undefined;
  const cpu = wholeNumber('cpu', v.cpu);
  const memoryMiB = wholeNumber('memory-mib', v['memory-mib']);
  const maxVms = wholeNumber('max-vms', v['max-vms']);
  const heartbeatMs = wholeNumber('heartbeat-ms', v['heartbeat-ms']);
  const underlayBridge = v['underlay-bridge'] as string | undefined;
  const underlayAddress = v['underlay-address'] as string | undefined;
  if ((underlayBridge === undefined) !== (underlayAddress === undefined)) {
    throw new UsageError('agent: --underlay-bridge and --underlay-address go together', 'agent');
  }
  if (underlayBridge !== undefined && runtime !== 'qemu')
    throw new UsageError('agent: --underlay-bridge needs --runtime qemu', 'agent');
  const dataDir = resolve(
    ctx.io.cwd,
    (v['data-dir'] as string | undefined) ?? `.harrow-agent-${nodeName ?? 'local'}`,
  );
  const signal = untilSignal(ctx.io);
  // Loaded here so that other commands start without the runtime's dependencies.
  const { startAgent } = await import('../agent/agent.ts');
  let agent;
  try {
    agent = await startAgent({
      server: ctx.globals.server,
      token,
      ...(ca !== undefined ? { ca } : {}),
      runtime,
      dataDir,
      ...(nodeName !== undefined ? { nodeName } : {}),
      ...(v.address !== undefined ? { addresses: v.address as string[] } : {}),
      ...(underlayBridge !== undefined && underlayAddress !== undefined
        ? { underlay: { bridge: underlayBridge, address: underlayAddress } }
        : {}),
      capacity: {
        ...(cpu !== undefined ? { cpu } : {}),
        ...(memoryMiB !== undefined ? { memoryMiB } : {}),
        ...(maxVms !== undefined ? { maxVms } : {}),
      },
      ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
      ...(v['teardown-on-exit'] === true ? { teardownOnExit: true } : {}),
      ...(v['log-level'] !== undefined ? { logLevel: v['log-level'] as string } : {}),
    });
  } catch (e) {
    throw new CliError(`agent: ${(e as Error).message}`);
  }
  ctx.io.stdout.write(
    `harrow agent: node ${agent.nodeName} ready (runtime ${runtime}, server ${ctx.globals.server})\n`,
  );
  // Names this process for `harrow down --data-dir`, which stops it before it removes the runtime's guests.
  await writeServerFile(
    dataDir,
    { url: ctx.globals.server, pid: process.pid, node: agent.nodeName },
    AGENT_FILE,
  );
  const got = await signal;
  ctx.io.stderr.write(`harrow agent: ${got}: shutting down\n`);
  await agent.close();
  await removeServerFile(dataDir, AGENT_FILE);
  return 0;
}
