// The node agent (kubelet + virt-handler role): registers a Node, heartbeats, and runs the node-side controllers and a
// runtime for the VMIs scheduled to it, talking to the control plane only through the HTTP API.
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { HarrowClient } from '../client/client.ts';
import {
  startControllers,
  type MacAssigner,
  type RunningControllers,
} from '../controllers/index.ts';
import type { VirtualMachine, VirtualMachineInstance } from '../resources/types.ts';
import { createLogger } from '../log/logger.ts';
import { chooseRuntime } from '../runtime/choice.ts';
import { DEFAULT_HEARTBEAT_MS, type NodeObject } from '../controllers/scheduler.ts';
import type { QemuRuntime } from '../runtime/qemu/qemu-runtime.ts';
import { underlayIp, type Underlay } from '../runtime/qemu/vxlan.ts';
import type { ResourceStore } from '../store/types.ts';
import { agentApiCredential, tokenHash, tokenIdOf } from '../apiserver/tokens.ts';
import { nodeUserName } from '../apiserver/roles.ts';
import { ApiStore } from './api-store.ts';
import {
  ANNOTATION_AGENT_TOKEN_ID,
  ANNOTATION_AGENT_URL,
  startNodeApi,
  type NodeApi,
} from './node-api.ts';
import { startHeartbeat, type Heartbeat, type NodeCapacity } from './heartbeat.ts';

export interface AgentOptions {
  /** The control plane's API; several replicas comma-separated (the agent moves on when one does not answer). */
  server: string;
  /** This node's token (`harrow token create --node NAME`): user system:node:NAME, the node role. */
  token: string;
  /** PEM CA to trust for https control-plane URLs (the control plane's `<dataDir>/pki/ca.crt`). */
  ca?: string;
  nodeName?: string;
  runtime: 'sim' | 'qemu';
  /** Where the runtime keeps its state (qemu: pod namespaces' records, guest sockets). */
  dataDir: string;
  /** InternalIP(s) the other hosts reach this one at. */
  addresses?: string[];
  /** qemu: this host's underlay (address with prefix, root-namespace bridge); networks then span hosts through VXLAN. */
  underlay?: Underlay;
  /** Where the agent's own API (guest-exec for the control plane) listens (default 127.0.0.1, a free port). */
  apiHost?: string;
  apiPort?: number;
  capacity?: Partial<NodeCapacity>;
  heartbeatMs?: number;
  logLevel?: string;
  /** qemu: on stop, remove every guest, namespace, bridge and state file the runtime made (a throwaway host). */
  teardownOnExit?: boolean;
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
      new Error(
        `VM ${vm.metadata.namespace ?? 'default'}/${vm.metadata.name}: an interface has no MAC and a node agent cannot assign one (the MAC pool lives in the control plane)`,
      ),
    );
  },
  assignInstance(vmi: VirtualMachineInstance): Promise<VirtualMachineInstance> {
    return Promise.reject(
      new Error(
        `VMI ${vmi.metadata.namespace ?? 'default'}/${vmi.metadata.name}: an interface has no MAC and a node agent cannot assign one (the MAC pool lives in the control plane)`,
      ),
    );
  },
};

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const logger: Logger = await createLogger(options.logLevel);
  const nodeName = options.nodeName ?? hostname();
  // An agent holds only its own node's credential: the admin token (or any token not minted by Harrow) is refused here,
  // and the control plane calls back only agents whose token is a node token of their own node.
  const tokenId = tokenIdOf(options.token);
  if (tokenId === undefined)
    throw new Error(
      `the token is not a Harrow node token: an agent runs with its node's own token (harrow token create --node ${nodeName}), never the admin token`,
    );
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const clients = options.server
    .split(',')
    .filter((u) => u !== '')
    .map(
      (server) =>
        new HarrowClient({
          server,
          token: options.token,
          userAgent: `harrow-agent/${nodeName}`,
          ...(options.ca !== undefined ? { ca: options.ca } : {}),
        }),
    );
  const ready = await Promise.all(clients.map((c) => c.ready()));
  if (!ready.some(Boolean))
    throw new Error(`--server ${options.server}: no API server answers /readyz`);
  // Start on a replica that answers.
  const store = new ApiStore(
    [...clients.slice(ready.indexOf(true)), ...clients.slice(0, ready.indexOf(true))],
    {
      onWatchError: (kind, error) =>
        logger.warn({ kind, err: error.message }, 'watch broke: reconnecting'),
    },
  );
  if (options.underlay && options.runtime !== 'qemu')
    throw new Error('an underlay (VXLAN between hosts) needs the qemu runtime');
  const { runtime } = await chooseRuntime(options.runtime, {
    dataDir,
    logger,
    ...(options.underlay ? { underlay: options.underlay } : {}),
    ...(options.teardownOnExit ? { teardownOnClose: true } : {}),
  });
  let heartbeat: Heartbeat | undefined;
  let controllers: RunningControllers | undefined;
  let api: NodeApi | undefined;
  let peers: { stop(): void } | undefined;
  const addresses = [
    ...(options.addresses ?? []),
    ...(options.underlay ? [underlayIp(options.underlay)] : []),
  ];
  try {
    api = await startNodeApi({
      runtime,
      credential: agentApiCredential(tokenHash(options.token), nodeName),
      ...(options.apiHost ? { host: options.apiHost } : {}),
      ...(options.apiPort !== undefined ? { port: options.apiPort } : {}),
    });
    heartbeat = await startHeartbeat({
      store,
      nodeName,
      runtime: runtime.name,
      logger,
      annotations: { [ANNOTATION_AGENT_URL]: api.url, [ANNOTATION_AGENT_TOKEN_ID]: tokenId },
      ...(addresses.length > 0 ? { addresses } : {}),
      ...(options.capacity ? { capacity: options.capacity } : {}),
      ...(options.heartbeatMs !== undefined ? { intervalMs: options.heartbeatMs } : {}),
    });
    controllers = await startControllers({
      store,
      runtime,
      macAssigner: noAssigner,
      nodeName,
      auditUser: nodeUserName(nodeName),
      logger,
      roles: { controlPlane: false, node: true },
    });
    if (options.underlay)
      peers = followVxlanPeers(
        store,
        runtime as QemuRuntime,
        nodeName,
        options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
        logger,
      );
  } catch (e) {
    peers?.stop();
    await api?.close();
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
      peers?.stop();
      heartbeat?.stop();
      await running.stop();
      await api?.close();
      await store.close();
      await runtime.close();
    },
  };
}

/** Keeps every network's VXLAN flooding to the other Nodes' InternalIPs (polled: Nodes come and go rarely). */
function followVxlanPeers(
  store: ResourceStore,
  runtime: QemuRuntime,
  nodeName: string,
  intervalMs: number,
  logger: Logger,
): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  const sync = async (): Promise<void> => {
    const nodes = (await store.list('Node')).items as NodeObject[];
    // Peers the control plane has not marked NotReady: a host it gave up on (and whose VMs it moves elsewhere with the
    // same MACs) is cut off the segment, so its orphaned guests cannot clash with the new instances. The control
    // plane's mark, not a local clock, decides, so a slow beat never splits the segment while the VMs stay put.
    const peers = nodes
      .filter(
        (n) =>
          n.metadata.name !== nodeName &&
          n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
      )
      .flatMap((n) =>
        (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address),
      )
      .sort();
    await runtime.setVxlanPeers(peers);
    if (peers.join(',') !== last) logger.info({ peers }, 'VXLAN peers');
    last = peers.join(',');
  };
  const run = (): void => {
    sync().then(loop, (e: unknown) => {
      logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'VXLAN peer sync failed');
      loop();
    });
  };
  const loop = (): void => {
    if (!stopped) timer = setTimeout(run, intervalMs);
  };
  run();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
