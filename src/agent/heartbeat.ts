// Registers this host as a Node (capacity, addresses) and keeps its Ready condition's lastHeartbeatTime fresh.
import { cpus, totalmem } from 'node:os';
import type { Logger } from 'pino';
import { AlreadyExists } from '../resources/errors.ts';
import { setCondition } from '../resources/meta.ts';
import {
  ANNOTATION_HEARTBEAT_MS,
  CAPACITY_VMS,
  DEFAULT_HEARTBEAT_MS,
  type NodeObject,
} from '../controllers/scheduler.ts';
import { updateWithRetry } from '../controllers/optimistic-update.ts';
import type { ResourceStore } from '../store/types.ts';

export interface NodeCapacity {
  cpu: number;
  memoryMiB: number;
  maxVms: number;
}

export interface HeartbeatOptions {
  store: ResourceStore;
  nodeName: string;
  capacity?: Partial<NodeCapacity>;
  /** InternalIP addresses other hosts reach this one at (VXLAN peers). */
  addresses?: string[];
  runtime: string;
  /** Node annotations this agent owns (e.g. where its API listens). */
  annotations?: Record<string, string>;
  intervalMs?: number;
  logger: Logger;
}

export interface Heartbeat {
  /** The Node as last written. */
  readonly node: NodeObject | undefined;
  stop(): void;
}

const SIM_MAX_VMS = 10_000;

/** This host's capacity: every CPU, the machine's memory, and 100 VMs unless told otherwise. */
export function hostCapacity(given: Partial<NodeCapacity> = {}): NodeCapacity {
  return {
    cpu: given.cpu ?? cpus().length,
    memoryMiB: given.memoryMiB ?? Math.floor(totalmem() / 2 ** 20),
    maxVms: given.maxVms ?? 100,
  };
}

function nodeStatus(
  options: HeartbeatOptions,
  previous: NodeObject['status'],
  nowIso: string,
): NonNullable<NodeObject['status']> {
  const cap = hostCapacity(options.capacity);
  const given = options.capacity ?? {};
  // A sim guest uses no real CPU or memory: a sim node limits only the VM count (10,000 unless told), and CPU or
  // memory only when given.
  const capacity: Record<string, string> =
    options.runtime === 'sim'
      ? {
          ...(given.cpu !== undefined ? { cpu: String(given.cpu) } : {}),
          ...(given.memoryMiB !== undefined ? { memory: `${given.memoryMiB}Mi` } : {}),
          [CAPACITY_VMS]: String(given.maxVms ?? SIM_MAX_VMS),
        }
      : { cpu: String(cap.cpu), memory: `${cap.memoryMiB}Mi`, [CAPACITY_VMS]: String(cap.maxVms) };
  const conditions = structuredClone(previous?.conditions ?? []);
  setCondition(
    conditions,
    {
      type: 'Ready',
      status: 'True',
      reason: 'HarrowAgentReady',
      message: 'the agent is posting ready status',
    },
    nowIso,
  );
  const ready = conditions.find((c) => c.type === 'Ready');
  if (ready) ready.lastHeartbeatTime = nowIso;
  return {
    ...(previous ?? {}),
    capacity,
    allocatable: capacity,
    conditions,
    addresses: (options.addresses ?? []).map((address) => ({ type: 'InternalIP', address })),
    nodeInfo: {
      kubeletVersion: 'harrow-agent',
      operatingSystem: 'linux',
      containerRuntimeVersion: options.runtime,
    },
  };
}

/** Creates or takes over the Node, then heartbeats every intervalMs until stopped (a failed beat is retried next time). */
export async function startHeartbeat(options: HeartbeatOptions): Promise<Heartbeat> {
  const { store, nodeName, logger } = options;
  const intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_MS;
  // The control plane gives each node three of its own intervals before it moves the node's VMs.
  const annotations = { ...options.annotations, [ANNOTATION_HEARTBEAT_MS]: String(intervalMs) };
  let node: NodeObject | undefined;
  const beat = async (): Promise<void> => {
    const nowIso = new Date().toISOString();
    const written = await updateWithRetry<NodeObject>(
      store,
      { kind: 'Node', name: nodeName },
      (o) => {
        o.metadata.annotations = { ...o.metadata.annotations, ...annotations };
        o.status = nodeStatus(options, o.status, nowIso);
        return true;
      },
    );
    if (written) {
      node = written;
      return;
    }
    try {
      node = (await store.create({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName }, annotations },
        spec: {},
        status: nodeStatus(options, undefined, nowIso),
      })) as NodeObject;
      logger.info({ node: nodeName }, 'node registered');
    } catch (e) {
      if (!(e instanceof AlreadyExists)) throw e; // created meanwhile: the next beat updates it
    }
  };
  await beat();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // A fixed rate, not a fixed pause after each beat: a slow write must not stretch the interval the grace period counts.
  let next = Date.now();
  const loop = (): void => {
    if (stopped) return;
    next = Math.max(next + intervalMs, Date.now());
    timer = setTimeout(() => {
      beat().then(loop, (e: unknown) => {
        logger.warn(
          { node: nodeName, err: e instanceof Error ? e.message : String(e) },
          'heartbeat failed',
        );
        loop();
      });
    }, next - Date.now());
  };
  loop();
  return {
    get node() {
      return node;
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
