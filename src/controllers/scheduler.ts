// Scheduling (kube-scheduler + node lifecycle roles): picks a Ready node for each new VMI, least loaded first — the node
// of its persistent disks when it has any (Harrow's disks are local, like a local PV's node affinity) — and evicts the
// VMIs of a node whose agent stopped heartbeating so their VMs start again elsewhere (with the manifests' MACs).
import type { Condition } from '../resources/meta.ts';
import { refOf, setCondition } from '../resources/meta.ts';
import { ANNOTATION_SELECTED_NODE } from '../resources/datavolume.ts';
import {
  PERSISTENT_VOLUME_CLAIM,
  type NodeObject,
  type PersistentVolumeClaim,
  type VirtualMachineInstance,
} from '../resources/types.ts';
import { claimNameOf, volumesOf } from '../resources/volumes.ts';
import { guestCpus, guestMemoryMiB, isFinished } from '../resources/vmi.ts';
import type { ControllerContext } from './context.ts';
import { eventRecorder } from './events.ts';
import { objectKey, type Result, type SharedInformer } from './framework.ts';
import { deleteIfExists, updateWithRetry } from './optimistic-update.ts';

export type { NodeObject } from '../resources/types.ts';

export const CAPACITY_VMS = 'harrow.io/vms';
/** Agents heartbeat this often by default; a node is NotReady after three missed beats. */
// 5 s: three missed beats (15 s) before VMs move — short enough to fail over fast, long enough that a busy host is not evicted.
export const DEFAULT_HEARTBEAT_MS = 5000;
const INDEX_NODE = 'node';
/** On a Node: how often its agent heartbeats; it is NotReady after three missed beats. */
export const ANNOTATION_HEARTBEAT_MS = 'harrow.io/heartbeat-interval-ms';
/** vCPUs per host CPU, as KubeVirt's default cpuAllocationRatio (a launcher requests 1/10 CPU per vCPU). */
const CPU_ALLOCATION_RATIO = 10;

export interface SchedulerOptions {
  /** The node running in this process (single host): always a candidate, never evicted — it is us. */
  localNode?: string;
  /** How long a node that publishes no heartbeat interval may go without one before its VMIs are moved (default 3 × DEFAULT_HEARTBEAT_MS). */
  graceMs?: number;
}

/** Where a VMI goes, or why it cannot go anywhere yet (a reason for its PodScheduled condition and the event). */
export type Placement = { node: string } | { node?: undefined; reason: string; message: string };

export interface Scheduler {
  pick(vmi: VirtualMachineInstance): Placement;
}

const readyCondition = (n: NodeObject): Condition | undefined =>
  n.status?.conditions?.find((c) => c.type === 'Ready');

/** The last heartbeat in ms, or undefined when the node never posted one. */
function lastHeartbeat(n: NodeObject): number | undefined {
  const t = readyCondition(n)?.lastHeartbeatTime;
  const ms = typeof t === 'string' ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

/** Three of the node's own heartbeat intervals when it publishes one, else `fallbackMs`. */
function graceFor(n: NodeObject, fallbackMs: number): number {
  const v = Number(n.metadata.annotations?.[ANNOTATION_HEARTBEAT_MS]);
  return Number.isFinite(v) && v > 0 ? 3 * v : fallbackMs;
}

/** Ready: the agent says so and its last heartbeat is within the grace period. */
function nodeReady(n: NodeObject, nowMs: number, graceMs: number): boolean {
  const beat = lastHeartbeat(n);
  return readyCondition(n)?.status === 'True' && beat !== undefined && nowMs - beat <= graceMs;
}

function capacityNumber(n: NodeObject, name: string): number {
  const v = n.status?.capacity?.[name];
  if (v === undefined) return Infinity;
  const m = /^(\d+)(Mi|Gi)?$/.exec(v);
  if (!m) return Infinity;
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
}

const nodeOfVmi = (vmi: VirtualMachineInstance): string[] =>
  vmi.status?.nodeName ? [vmi.status.nodeName] : [];

interface Usage {
  vms: number;
  cpus: number;
  memoryMiB: number;
}

/** The node a VMI's resources count on: its own while it is placed there and not finished. */
const countsOn = (vmi: VirtualMachineInstance): string | undefined =>
  vmi.status?.nodeName && !isFinished(vmi) ? vmi.status.nodeName : undefined;

function addUsage(
  usage: Map<string, Usage>,
  node: string,
  vmi: VirtualMachineInstance,
  sign: 1 | -1,
): void {
  let u = usage.get(node);
  if (!u) usage.set(node, (u = { vms: 0, cpus: 0, memoryMiB: 0 }));
  u.vms += sign;
  u.cpus += sign * guestCpus(vmi.spec);
  u.memoryMiB += sign * guestMemoryMiB(vmi.spec);
  if (u.vms === 0) usage.delete(node);
}

export function schedulerController(
  ctx: ControllerContext,
  options: SchedulerOptions = {},
): Scheduler {
  const graceMs = options.graceMs ?? 3 * DEFAULT_HEARTBEAT_MS;
  const nodes: SharedInformer<NodeObject> = ctx.manager.informer<NodeObject>('Node');
  const { vmis } = ctx.informers;
  vmis.addIndex(INDEX_NODE, nodeOfVmi);
  const claims = ctx.manager.informer<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM);
  const log = ctx.logger.child({ controller: 'node-lifecycle' });
  const event = eventRecorder(ctx.store, log, { component: 'node-controller', host: ctx.nodeName });
  // Picks not yet visible in the informer (kube-scheduler's "assumed" pods): they count towards their node's load.
  const assumed = new Map<string, { node: string; vmi: VirtualMachineInstance }>();
  // Each node's load, kept current from the informer's changes and the picks (a pick then costs one lookup per node,
  // not a pass over every VMI on it: quadratic with thousands of VMs spread over agents).
  const placed = new Map<string, Usage>();
  const assumedLoad = new Map<string, Usage>();

  const lifecycle = ctx.manager.controller({ name: 'node-lifecycle', reconcile, concurrency: 1 });
  nodes.onEvent((e) => lifecycle.enqueue(objectKey(e.object)));
  vmis.onEvent((e) => {
    const before = e.old && countsOn(e.old);
    const after = e.type !== 'DELETED' && countsOn(e.object);
    if (before) addUsage(placed, before, e.old!, -1);
    if (after) addUsage(placed, after, e.object, 1);
    const uid = e.object.metadata.uid ?? '';
    if (e.type === 'DELETED' || e.object.status?.nodeName) unassume(uid);
    // A VMI landing on a node that is already gone is evicted too.
    const node = e.object.status?.nodeName;
    if (node && e.type !== 'DELETED' && node !== options.localNode && !nodes.get(node))
      lifecycle.enqueue(node);
  });

  return { pick };

  /** What a node runs (its unfinished VMIs) and has been picked for meanwhile. */
  function load(node: string): Usage {
    const a = placed.get(node);
    const b = assumedLoad.get(node);
    return {
      vms: (a?.vms ?? 0) + (b?.vms ?? 0),
      cpus: (a?.cpus ?? 0) + (b?.cpus ?? 0),
      memoryMiB: (a?.memoryMiB ?? 0) + (b?.memoryMiB ?? 0),
    };
  }

  function assume(vmi: VirtualMachineInstance, node: string): void {
    const uid = vmi.metadata.uid ?? '';
    unassume(uid);
    assumed.set(uid, { node, vmi });
    addUsage(assumedLoad, node, vmi, 1);
  }

  function unassume(uid: string): void {
    const a = assumed.get(uid);
    if (!a) return;
    assumed.delete(uid);
    addUsage(assumedLoad, a.node, a.vmi, -1);
  }

  /** The nodes holding the VMI's persistent disks (claims bound to a node), each with the claims there. */
  function diskNodes(vmi: VirtualMachineInstance): Map<string, string[]> {
    const found = new Map<string, string[]>();
    const namespace = vmi.metadata.namespace ?? 'default';
    for (const volume of volumesOf(vmi.spec)) {
      const name = claimNameOf(volume);
      if (!name) continue;
      const node = claims.get(`${namespace}/${name}`)?.metadata.annotations?.[
        ANNOTATION_SELECTED_NODE
      ];
      if (node) found.set(node, [...(found.get(node) ?? []), name]);
    }
    return found;
  }

  /** Why a node has no room for one more of this VMI (VM count, vCPUs, memory against its capacity), if it has none. */
  function noRoom(
    name: string,
    n: NodeObject | undefined,
    vmi: VirtualMachineInstance,
    used: { vms: number; cpus: number; memoryMiB: number },
  ): string | undefined {
    // The local node of a single host takes whatever it is given, as before nodes existed; agents' nodes have limits.
    if (!n || name === options.localNode) return undefined;
    if (used.vms + 1 > capacityNumber(n, CAPACITY_VMS)) return `Too many VMs (${CAPACITY_VMS})`;
    if ((used.cpus + guestCpus(vmi.spec)) / CPU_ALLOCATION_RATIO > capacityNumber(n, 'cpu'))
      return 'Insufficient cpu';
    if (used.memoryMiB + guestMemoryMiB(vmi.spec) > capacityNumber(n, 'memory'))
      return 'Insufficient memory';
    return undefined;
  }

  /** Why no node takes the VMI, node by node, in kube-scheduler's words ("0/3 nodes are available: 1 Insufficient memory, 2 node(s) were not ready."). */
  function whyNoNode(vmi: VirtualMachineInstance): string {
    const now = ctx.now();
    const reasons = new Map<string, number>();
    const count = (r: string): void => void reasons.set(r, (reasons.get(r) ?? 0) + 1);
    let total = 0;
    for (const n of nodes.values()) {
      total++;
      if (n.spec?.unschedulable === true) count('node(s) were unschedulable');
      else if (!nodeReady(n, now, graceFor(n, graceMs))) count('node(s) were not ready');
      else {
        const r = noRoom(n.metadata.name, n, vmi, load(n.metadata.name));
        if (r) count(r);
      }
    }
    const parts = [...reasons].map(([r, k]) => `${k} ${r}`).sort((a, b) => a.localeCompare(b));
    return `0/${total} nodes are available${parts.length > 0 ? `: ${parts.join(', ')}` : ''}.`;
  }

  function pick(vmi: VirtualMachineInstance): Placement {
    const now = ctx.now();
    const disks = diskNodes(vmi);
    if (disks.size > 1)
      return {
        reason: 'ClaimsOnDifferentNodes',
        message: `its disks are on different nodes (${[...disks].map(([n, c]) => `${c.join(', ')} on ${n}`).join('; ')}); Harrow's disks are local to a node`,
      };
    const [diskNode, diskClaims] = [...disks][0] ?? [];
    const onDiskNode = (why: string): Placement => ({
      reason: 'ClaimOnOtherNode',
      message: `the disk of claim ${diskClaims!.join(', ')} is on node ${diskNode}, which ${why}; Harrow's disks are local to a node`,
    });
    const candidates = new Map<string, NodeObject | undefined>();
    for (const n of nodes.values()) {
      if (n.spec?.unschedulable !== true && nodeReady(n, now, graceFor(n, graceMs)))
        candidates.set(n.metadata.name, n);
    }
    if (options.localNode !== undefined)
      candidates.set(options.localNode, nodes.get(options.localNode));
    if (diskNode !== undefined) {
      if (!candidates.has(diskNode)) return onDiskNode('is not Ready or not schedulable');
      for (const name of [...candidates.keys()]) if (name !== diskNode) candidates.delete(name);
    }
    // A single host with no agents: its own node takes everything, so there is no load to weigh (counting it is a pass
    // over every VMI on the node, per pick: quadratic with thousands of VMs).
    if (candidates.size === 1 && candidates.has(options.localNode ?? '')) {
      assume(vmi, options.localNode!);
      return { node: options.localNode! };
    }
    let best: { name: string; vms: number } | undefined;
    for (const [name, n] of candidates) {
      const used = load(name);
      if (noRoom(name, n, vmi, used)) continue;
      if (!best || used.vms < best.vms || (used.vms === best.vms && name < best.name))
        best = { name, vms: used.vms };
    }
    if (!best)
      return diskNode !== undefined
        ? onDiskNode('has no room for this VMI')
        : { reason: 'Unschedulable', message: whyNoNode(vmi) };
    assume(vmi, best.name);
    return { node: best.name };
  }

  async function reconcile(name: string): Promise<Result> {
    if (name === options.localNode) return {};
    const node = nodes.get(name);
    const now = ctx.now();
    const grace = node ? graceFor(node, graceMs) : graceMs;
    if (node && nodeReady(node, now, grace)) {
      // Look again just after the grace period would end without another heartbeat.
      return { requeueAfter: Math.max(100, (lastHeartbeat(node) ?? now) + grace - now + 50) };
    }
    if (node && readyCondition(node)?.status === 'True') {
      const message = `the node's agent has not posted a heartbeat for ${Math.round((now - (lastHeartbeat(node) ?? 0)) / 1000)} s`;
      await updateWithRetry<NodeObject>(ctx.store, refOf(node), (o) =>
        setCondition(
          ((o.status ??= {}).conditions ??= []),
          { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message },
          new Date(now).toISOString(),
        ),
      );
      log.warn({ node: name }, message);
    }
    // Not Ready (or gone): its VMIs go, so their VMs' controllers start them again on a Ready node.
    for (const vmi of vmis.byIndex(INDEX_NODE, name)) {
      if (isFinished(vmi)) continue;
      if (await deleteIfExists(ctx.store, refOf(vmi))) {
        log.info(
          { namespace: vmi.metadata.namespace, vmi: vmi.metadata.name, node: name },
          'evicted the VMI of a node that is not Ready',
        );
        await event(
          vmi,
          'Warning',
          'NodeNotReady',
          `Node ${name} is not ready: deleted the VMI so that its VM starts on another node`,
        );
      }
    }
    return node ? { requeueAfter: grace } : {};
  }
}
