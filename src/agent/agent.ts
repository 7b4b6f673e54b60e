// The node agent (kubelet + virt-handler role): registers a Node, heartbeats, and runs the node-side controllers and a
// runtime for the VMIs scheduled to it, talking to the control plane only through the HTTP API.
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { HarrowClient } from '../client/client.ts';
import { startControllers, type MacAssigner, type RunningControllers } from '../controllers/index.ts';
import type { VirtualMachine } from '../resources/types.ts';
import { chooseRuntime } from '../server/runtime-choice.ts';
import { ApiStore } from './api-store.ts';
import { startHeartbeat, type Heartbeat, type NodeCapacity } from './heartbeat.ts';

export interface AgentOptions {
  server: string;
  token: string;
  nodeName?: string;
  runtime: 'sim' | 'qemu';
  /** Where the runtime keeps its state (qemu: pod namespaces' records, guest sockets). */
  dataDir: string;
  /** InternalIP(s) the other hosts reach this one at. */
  addresses?: string[];
  capacity?: Partial<NodeCapacity>;
  heartbeatMs?: number;
  logLevel?: string;
}

export interface RunningAgent {
  nodeName: string;
  controllers: RunningControllers;
  close(): Promise<void>;
}

/**
 * MACs are assigned by the control plane (admission, or its network plugin for namespaces with pool admission off);
 * an agent holds no pool. A pod reaching an agent without a MAC is a control-plane bug, said so here.
 */
const noAssigner: MacAssigner = {
  assignMissing(vm: VirtualMachine): Promise<VirtualMachine> {
    return Promise.reject(
      new Error(`VM ${vm.metadata.namespace ?? 'default'}/${vm.metadata.name}: an interface has no MAC and a node agent cannot assign one (the MAC pool lives in the control plane)`),
    );
  },
};

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const logger: Logger = pino({ level: options.logLevel ?? process.env.HARROW_LOG_LEVEL ?? 'info' });
  const nodeName = options.nodeName ?? hostname();
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const client = new HarrowClient({ server: options.server, token: options.token, userAgent: `harrow-agent/${nodeName}` });
  if (!(await client.ready())) throw new Error(`--server ${options.server}: the API server does not answer /readyz`);
  const store = new ApiStore(client, {
    onWatchError: (kind, error) => logger.warn({ kind, err: error.message }, 'watch broke: reconnecting'),
  });
  const { runtime } = await chooseRuntime(options.runtime, { dataDir, logger });
  let heartbeat: Heartbeat | undefined;
  let controllers: RunningControllers | undefined;
  try {
    heartbeat = await startHeartbeat({
      store,
      nodeName,
      runtime: runtime.name,
      logger,
      ...(options.addresses ? { addresses: options.addresses } : {}),
      ...(options.capacity ? { capacity: options.capacity } : {}),
      ...(options.heartbeatMs !== undefined ? { intervalMs: options.heartbeatMs } : {}),
    });
    controllers = await startControllers({ store, runtime, macAssigner: noAssigner, nodeName, logger, roles: { controlPlane: false, node: true } });
  } catch (e) {
    heartbeat?.stop();
    await store.close();
    await runtime.close();
    throw e;
  }
  logger.info({ node: nodeName, server: options.server, runtime: runtime.name }, 'agent ready');
  const running = controllers;
  return {
    nodeName,
    controllers: running,
    async close() {
      heartbeat?.stop();
      await running.stop();
      await store.close();
      await runtime.close();
    },
  };
}
