// Test harness for the controller tests: a real SQLite store, the sim runtime, all controllers, and small builders.
import { startControllers, type RunningControllers } from '../../src/controllers/index.ts';
import type { MacAssigner } from '../../src/controllers/context.ts';
import type { NodeObject } from '../../src/controllers/scheduler.ts';
import type { KubeObject } from '../../src/resources/meta.ts';
import type {
  KubeEvent,
  NetworkAttachmentDefinition,
  VirtualMachine,
  VirtualMachineInstance,
  Pod,
} from '../../src/resources/types.ts';
import { createSimRuntime, type SimRuntime } from '../../src/runtime/sim/index.ts';
import type { ExecResult } from '../../src/runtime/types.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.ts';
import type { ResourceStore } from '../../src/store/types.ts';

export interface Harness {
  store: ResourceStore;
  runtime: SimRuntime;
  controllers: RunningControllers;
  close(): Promise<void>;
}

let macCounter = 0;

function fillMissing(interfaces: Array<{ macAddress?: string }>): boolean {
  let changed = false;
  for (const iface of interfaces) {
    if (iface.macAddress) continue;
    macCounter++;
    iface.macAddress = `02:aa:00:00:${((macCounter >> 8) & 0xff).toString(16).padStart(2, '0')}:${(macCounter & 0xff).toString(16).padStart(2, '0')}`;
    changed = true;
  }
  return changed;
}

/** A MacAssigner for tests: fills missing MACs from a counter and commits the VM (the real one is the lead's pool). */
export function counterMacAssigner(store: ResourceStore): MacAssigner & { calls: number } {
  const assigner = {
    calls: 0,
    async assignMissing(vm: VirtualMachine): Promise<VirtualMachine> {
      assigner.calls++;
      const current = (await store.get({
        kind: 'VirtualMachine',
        namespace: vm.metadata.namespace ?? 'default',
        name: vm.metadata.name,
      })) as VirtualMachine;
      const changed = fillMissing(current.spec.template.spec.domain.devices.interfaces ?? []);
      return changed ? ((await store.update(current)) as VirtualMachine) : current;
    },
    async assignInstance(vmi: VirtualMachineInstance): Promise<VirtualMachineInstance> {
      assigner.calls++;
      const current = structuredClone(vmi);
      const changed = fillMissing(current.spec.domain.devices.interfaces ?? []);
      return changed ? ((await store.update(current)) as VirtualMachineInstance) : current;
    },
  };
  return assigner;
}

export async function startHarness(
  options: {
    bootMs?: number;
    macAssigner?: (store: ResourceStore) => MacAssigner;
    pollMs?: number;
    connectivityTimeoutMs?: number;
    /** How often the connectivity check asks a booting guest again (default 10 s). */
    bootProbeMs?: number;
    /** Answers guest-exec before the sim guest does (undefined: the guest answers), e.g. a guest's systemd. */
    exec?: (argv: readonly string[]) => ExecResult | undefined;
    concurrency?: number;
  } = {},
): Promise<Harness> {
  const store = await openSqliteStore(':memory:');
  const sim = createSimRuntime({ bootMs: options.bootMs ?? 20 });
  const answer = options.exec;
  const runtime: SimRuntime = answer
    ? new Proxy(sim, {
        get(target, key, receiver) {
          if (key === 'exec')
            return (uid: string, argv: string[], o?: { timeoutMs?: number }) =>
              Promise.resolve(answer(argv) ?? target.exec(uid, argv, o));
          const value: unknown = Reflect.get(target, key, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      })
    : sim;
  await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const controllers = await startControllers({
    store,
    runtime,
    macAssigner: (options.macAssigner ?? counterMacAssigner)(store),
    nodeName: 'node-1',
    observerPollMs: options.pollMs ?? 500,
    connectivity: {
      timeoutMs: options.connectivityTimeoutMs ?? 3_000,
      retryMs: 100,
      ...(options.bootProbeMs !== undefined ? { bootProbeMs: options.bootProbeMs } : {}),
    },
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  });
  return {
    store,
    runtime,
    controllers,
    async close() {
      await controllers.stop();
      await runtime.close();
      await store.close();
    },
  };
}

/** Polls until `probe` returns a value (not undefined/false), or fails naming `what` and the last value seen. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** How many reconciles `controller` has finished, whatever their result (controller_runtime_reconcile_total). */
export async function reconcileCount(
  controllers: RunningControllers,
  controller: string,
): Promise<number> {
  const text = await controllers.metrics.metrics();
  let total = 0;
  for (const line of text.split('\n'))
    if (
      line.startsWith('controller_runtime_reconcile_total{') &&
      line.includes(`controller="${controller}"`)
    )
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

/**
 * Runs `act` (a clock jump, a write) and waits until `controller` has reconciled after it and every controller is idle:
 * what that reconcile decided, and all it led to, is then in the store. A test that asserts something did not happen
 * asserts it after this, on a decision that was made, rather than after a pause.
 */
export async function afterReconcile(
  controllers: RunningControllers,
  controller: string,
  act: () => unknown,
): Promise<void> {
  const before = await reconcileCount(controllers, controller);
  await act();
  await waitFor(
    `a ${controller} reconcile`,
    async () => (await reconcileCount(controllers, controller)) > before,
  );
  await controllers.waitForIdle();
}

export function vmManifest(
  name: string,
  options: {
    runStrategy?: VirtualMachine['spec']['runStrategy'];
    macs?: Array<string | undefined>;
    nads?: string[];
    podNetwork?: boolean;
    namespace?: string;
  } = {},
): VirtualMachine {
  const nads = options.nads ?? [];
  const podNetwork = options.podNetwork ?? true;
  const names = [...(podNetwork ? ['default'] : []), ...nads.map((_, i) => `net${i + 1}`)];
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: options.namespace ?? 'default' },
    spec: {
      runStrategy: options.runStrategy ?? 'Always',
      template: {
        metadata: { labels: { app: name } },
        spec: {
          domain: {
            cpu: { cores: 1 },
            memory: { guest: '128Mi' },
            devices: {
              interfaces: names.map((n, i) => ({
                name: n,
                bridge: {},
                ...(options.macs?.[i] ? { macAddress: options.macs[i] } : {}),
              })),
            },
          },
          networks: names.map((n, i) =>
            podNetwork && i === 0
              ? { name: n, pod: {} }
              : { name: n, multus: { networkName: nads[podNetwork ? i - 1 : i] as string } },
          ),
        },
      },
    },
  };
}

export function nadManifest(
  name: string,
  config: Record<string, unknown>,
  namespace = 'default',
): NetworkAttachmentDefinition {
  return {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name, namespace },
    spec: { config: JSON.stringify({ cniVersion: '0.3.1', type: 'bridge', ...config }) },
  };
}

export const getVm = async (
  store: ResourceStore,
  name: string,
  namespace = 'default',
): Promise<VirtualMachine | undefined> =>
  (await store.get({ kind: 'VirtualMachine', namespace, name })) as VirtualMachine | undefined;
export const getVmi = async (
  store: ResourceStore,
  name: string,
  namespace = 'default',
): Promise<VirtualMachineInstance | undefined> =>
  (await store.get({ kind: 'VirtualMachineInstance', namespace, name })) as
    VirtualMachineInstance | undefined;

export async function podsOf(
  store: ResourceStore,
  vm: string,
  namespace = 'default',
): Promise<Pod[]> {
  const list = await store.list('Pod', {
    namespace,
    filter: (o: KubeObject) => o.metadata.labels?.['vm.kubevirt.io/name'] === vm,
  });
  return list.items as Pod[];
}

/** Waits for the VM's VMI to be Running with the guest agent reporting an IP on every spec interface. */
export async function waitRunning(
  h: Harness,
  name: string,
  timeoutMs = 30_000,
): Promise<VirtualMachineInstance> {
  return waitFor(
    `${name} running with IPs`,
    async () => {
      const vmi = await getVmi(h.store, name);
      if (vmi?.status?.phase !== 'Running') return undefined;
      const specCount = vmi.spec.domain.devices.interfaces?.length ?? 0;
      const withIp = (vmi.status.interfaces ?? []).filter(
        (i) => i.name && (i.ipAddresses?.length ?? 0) > 0,
      );
      return withIp.length === specCount ? vmi : undefined;
    },
    timeoutMs,
  );
}

export async function setRequests(
  store: ResourceStore,
  name: string,
  requests: Array<{ action: 'Start' | 'Stop'; uid?: string }>,
): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const vm = (await getVm(store, name)) as VirtualMachine;
    vm.status = { ...(vm.status ?? {}), stateChangeRequests: requests };
    try {
      await store.update(vm);
      return;
    } catch (e) {
      if ((e as { reason?: string }).reason !== 'Conflict') throw e;
    }
  }
  throw new Error('could not set stateChangeRequests');
}

export async function patchVm(
  store: ResourceStore,
  name: string,
  mutate: (vm: VirtualMachine) => void,
): Promise<VirtualMachine> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const vm = (await getVm(store, name)) as VirtualMachine;
    mutate(vm);
    try {
      return (await store.update(vm)) as VirtualMachine;
    } catch (e) {
      if ((e as { reason?: string }).reason !== 'Conflict') throw e;
    }
  }
  throw new Error('could not patch VM');
}

/** Waits for an Event matching `match` (events are recorded right after the action they report). */
export async function waitForEvent(
  store: ResourceStore,
  what: string,
  match: (e: KubeEvent) => boolean,
  namespace = 'default',
): Promise<KubeEvent> {
  return waitFor(`event ${what}`, async () =>
    ((await store.list('Event', { namespace })).items as KubeEvent[]).find(match),
  );
}

/** A Node as an agent registers it: Ready, heartbeat `beatMs`, room for `maxVms` VMs, 4 CPUs and `memory`. */
export function readyNode(
  name: string,
  maxVms: number,
  opts: { beatMs?: number; memory?: string } = {},
): NodeObject {
  const t = new Date(opts.beatMs ?? Date.now()).toISOString();
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    spec: {},
    status: {
      capacity: { cpu: '4', memory: opts.memory ?? '8192Mi', 'harrow.io/vms': String(maxVms) },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'HarrowAgentReady',
          lastHeartbeatTime: t,
          lastTransitionTime: t,
        },
      ],
    },
  };
}

export interface NodeCluster {
  store: SqliteStore;
  controllers: RunningControllers;
  /** Nodes whose agents heartbeat (every 100 ms); delete one to silence it, add one to start it. */
  beating: Set<string>;
  close(): Promise<void>;
}

/** A control plane without a local node, over `nodes` (created, and heartbeating unless listed in `silent`). */
export async function startNodeCluster(
  nodes: NodeObject[],
  opts: { graceMs: number; silent?: string[] },
): Promise<NodeCluster> {
  const store = await openSqliteStore(':memory:');
  await store.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const beating = new Set<string>();
  for (const n of nodes) {
    await store.create(n);
    if (!opts.silent?.includes(n.metadata.name)) beating.add(n.metadata.name);
  }
  const beat = async (): Promise<void> => {
    for (const name of beating) {
      const n = (await store.get({ kind: 'Node', name })) as NodeObject;
      const ready = n.status!.conditions!.find((c) => c.type === 'Ready')!;
      ready.lastHeartbeatTime = new Date().toISOString();
      ready.status = 'True';
      await store.update(n);
    }
  };
  const timer = setInterval(() => void beat(), 100);
  const controllers = await startControllers({
    store,
    runtime: createSimRuntime(),
    macAssigner: counterMacAssigner(store),
    nodeName: 'control-plane',
    roles: { controlPlane: true, node: false },
    nodeGraceMs: opts.graceMs,
  });
  return {
    store,
    controllers,
    beating,
    async close() {
      clearInterval(timer);
      await controllers.stop();
      await store.close();
    },
  };
}
