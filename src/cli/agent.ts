// `harrow agent`: runs a node agent on this host against a control plane's API until SIGINT/SIGTERM.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expectPositionals } from './args.ts';
import type { Command } from './command.ts';
import { CliError, UsageError } from './errors.ts';
import { AGENT_FILE, removeServerFile, untilSignal, writeServerFile } from './serve.ts';

const wholeNumber = (flag: string, v: unknown): number | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v))
    throw new UsageError(`agent: --${flag} ${String(v)}: a whole number`, 'agent');
  return Number(v);
};

export const agentCommand: Command = {
  name: 'agent',
  summary: 'Run a node agent: register this host as a Node and run the VMs scheduled to it',
  usage: `Usage: harrow agent --server URL[,URL…] (--token TOKEN | --token-file PATH) [--node-name NAME] [--runtime sim|qemu] [flags]

The token is the node's own (\`harrow token create --node NAME\`, user system:node:NAME): the agent refuses the admin
token, and --node-name must be the token's node.

Registers a Node (capacity, addresses), heartbeats, and runs the network plugin, launcher, observer and a runtime for
the VMIs the control plane schedules to this node. It talks to the control plane only through the API; given several
control-plane replicas (comma-separated), it moves on to the next when one does not answer.
  --certificate-authority PATH
                          PEM CA that signed the control plane's certificate (its DATA_DIR/pki/ca.crt) for https URLs
  --node-name NAME        the Node's name (default: the hostname)
  --runtime sim|qemu      sim (default) or qemu (root, QEMU and the guest image needed)
  --data-dir DIR          the runtime's state (default .harrow-agent-NAME)
  --address IP            this host's address for the other hosts; repeat for several
  --underlay-bridge BR --underlay-address CIDR
                          qemu: give the runtime's host namespace CIDR (e.g. 198.19.0.11/24) on a veth to the
                          root-namespace bridge BR; each network's bridge then reaches the other Nodes' through VXLAN
  --cpu N, --memory-mib N, --max-vms N   capacity (default: this machine's CPUs and memory, 100 VMs; on sim
                          10,000 VMs and no CPU or memory limit unless given)
  --heartbeat-ms N        heartbeat interval (default 5000; the control plane moves VMs after 3 missed)
  --log-level LEVEL       trace, debug, info (default), warn, error
  --teardown-on-exit      qemu: on stop, stop every guest and remove the namespaces, bridges and state the runtime
                          made (a throwaway host: tests, demos); by default guests keep running (\`harrow down
                          --data-dir DIR\` stops the agent and removes them)
Stops cleanly on SIGINT (Ctrl-C) or SIGTERM; its VMs keep running until the control plane moves them.`,
  options: {
    'node-name': { type: 'string' },
    runtime: { type: 'string' },
    'data-dir': { type: 'string' },
    address: { type: 'string', multiple: true },
    cpu: { type: 'string' },
    'memory-mib': { type: 'string' },
    'max-vms': { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    'log-level': { type: 'string' },
    'token-file': { type: 'string' },
    'certificate-authority': { type: 'string' },
    'underlay-bridge': { type: 'string' },
    'underlay-address': { type: 'string' },
    'teardown-on-exit': { type: 'boolean' },
  },
  async run(ctx, args) {
    expectPositionals(args.positionals, [], 'agent');
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
  },
};
