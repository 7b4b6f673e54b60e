// Runs `bin/harrow agent` as a child process in its own process group (optionally inside a network namespace), for e2e tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeInstance } from '../../src/runtime/qemu/teardown.ts';
import { qemuInstanceId } from '../../src/runtime/choice.ts';
import { HARROW_BIN, REPO_ROOT, waitFor, type HarrowServer } from './harness.ts';

/** A node token for `node` made as an admin makes one (`harrow token create --node NODE`): what an agent runs with. */
export async function nodeToken(server: Pick<HarrowServer, 'cli'>, node: string): Promise<string> {
  const r = await server.cli(['token', 'create', '--node', node]);
  if (r.code !== 0) throw new Error(`harrow token create --node ${node}: ${r.stderr}`);
  return r.stdout.trim();
}

export interface AgentProcess {
  readonly nodeName: string;
  readonly pid: number;
  logs(): string;
  /** Signals the whole process group; resolves once the agent exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM (SIGKILL after 10 s), then removes the data dir. Idempotent. */
  stop(): Promise<void>;
}

export interface AgentStart {
  server: string;
  /** The node's own token (nodeToken), never the admin token. */
  token: string;
  nodeName: string;
  runtime?: 'sim' | 'qemu';
  /** Run it with `ip netns exec NETNS` (its own network namespace as a "host"). */
  netns?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
}

export async function startAgentProcess(o: AgentStart): Promise<AgentProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), `harrow-agent-${o.nodeName}-`));
  const agentArgs = [
    'agent',
    '--server',
    o.server,
    '--token',
    o.token,
    '--node-name',
    o.nodeName,
    '--runtime',
    o.runtime ?? 'sim',
    '--data-dir',
    dataDir,
    ...(o.runtime === 'qemu' ? ['--teardown-on-exit'] : []),
    ...(o.extraArgs ?? []),
  ];
  const [cmd, args] = o.netns
    ? ['ip', ['netns', 'exec', o.netns, HARROW_BIN, ...agentArgs]]
    : [HARROW_BIN, agentArgs];
  const child: ChildProcess = spawn(cmd, args, {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-200_000)));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-200_000)));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  let gone = false;
  void exited.then(() => (gone = true));
  const group = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-(child.pid ?? 0), signal);
    } catch {
      // already gone
    }
  };
  let stopped = false;
  const agent: AgentProcess = {
    nodeName: o.nodeName,
    pid: child.pid ?? -1,
    logs: () => log,
    async kill(signal = 'SIGKILL') {
      group(signal);
      await exited;
      group('SIGKILL');
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!gone) {
        group('SIGTERM');
        const t = setTimeout(() => group('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      group('SIGKILL');
      if (o.runtime === 'qemu') await removeQemuLeftovers(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      () => {
        if (gone) throw new Error(`harrow agent ${o.nodeName} exited before it was ready:\n${log}`);
        return log.includes(`node ${o.nodeName} ready`);
      },
      {
        timeoutMs: o.runtime === 'qemu' ? 180_000 : 60_000,
        intervalMs: 100,
        message: `agent ${o.nodeName} ready`,
      },
    );
  } catch (e) {
    await agent.stop();
    throw e;
  }
  return agent;
}

/** A SIGKILLed qemu agent leaves its guests, dnsmasq, namespaces and VXLAN links: `harrow down`'s removal takes them. */
export async function removeQemuLeftovers(dataDir: string): Promise<void> {
  await removeInstance(qemuInstanceId(dataDir));
}
