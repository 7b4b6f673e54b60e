// Starts Harrow's controllers on one store and one runtime: the control plane (vm, vmi, scheduler, pool-gc, datavolume)
// and/or the node side (network plugin, launcher, volumes, observer, connectivity).
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import type { ImageStore } from '../images/store.ts';
import type { Runtime } from '../runtime/types.ts';
import type { ResourceStore } from '../store/types.ts';
import { connectivityController, type ConnectivityOptions } from './connectivity.ts';
import {
  CONTROLLER_USER,
  INDEX_UID,
  sharedInformers,
  type ControllerContext,
  type MacAssigner,
} from './context.ts';
import { ControllerManager, objectKey } from './framework.ts';
import { dataVolumeControllers } from './datavolumes.ts';
import { imagesController } from './images.ts';
import { launcherController } from './launcher.ts';
import { maintenanceController } from './maintenance.ts';
import { MetricsRegistry } from '../metrics/families.ts';
import { networkControllers } from './network.ts';
import { fixedAddressGcController } from './fixed-address-gc.ts';
import { observerController } from './observer.ts';
import { poolGcController, type MacReleaser } from './pool-gc.ts';
import { macPoolStatusController } from './macpool-status.ts';
import { cloneController, type VmCreator } from './clone.ts';
import { schedulerController } from './scheduler.ts';
import { vmController } from './vm.ts';
import { vmiController } from './vmi.ts';
import { volumesController } from './volumes.ts';
import { vmiNetworkMetrics } from './vmi-network-metrics.ts';
import {
  FILTERED_KINDS as NODE_SCOPED_KINDS,
  NodeView,
  scheduledNode,
} from '../store/node-view.ts';
import type { KubeObject } from '../resources/meta.ts';

export type { MacAssigner } from './context.ts';
export type { MacReleaser } from './pool-gc.ts';
export type { VmCreator } from './clone.ts';
export { MetricsRegistry } from '../metrics/families.ts';

export interface StartControllersDeps {
  store: ResourceStore;
  runtime: Runtime;
  macAssigner: MacAssigner;
  /** The MAC pool's release side; when given, pool-gc quarantines MACs nothing uses any more. */
  macReleaser?: MacReleaser;
  /** The node VMIs run on (status.nodeName); default the hostname. */
  nodeName?: string;
  logger?: Logger;
  /**
   * Time source in ms (e.g. `Date`, or a test clock). A test clock that jumps forward gives `onAdvance`, so that
   * requeue-after timers due by the new time fire then (timers are real); it returns an unsubscribe.
   */
  clock?: { now(): number; onAdvance?(listener: () => void): () => void };
  /** Keys each controller reconciles at once (default 4). */
  concurrency?: number;
  /** Observer poll per running VMI (default 10 s, jittered). */
  observerPollMs?: number;
  connectivity?: ConnectivityOptions;
  /** Creates VMs through the apiserver's admission (MACs from the pool); when given, the clone controller runs. */
  vmCreator?: VmCreator;
  /**
   * Which controllers run here (default both): the control plane (vm, vmi with scheduling, node lifecycle, pool-gc) and
   * the node side (network plugin, launcher, observer, connectivity) for what is scheduled to `nodeName`.
   */
  roles?: { controlPlane?: boolean; node?: boolean };
  /** The local image store: listed as VirtualMachineImage objects, and what containerDisk volumes resolve against. */
  imageStore?: ImageStore;
  /** Who the node side's audit records name (default system:harrow:controller; an agent: system:node:NAME). */
  auditUser?: string;
  /** How long an agent may miss heartbeats before its VMIs are moved (default 3 heartbeats). */
  nodeGraceMs?: number;
  /** Where the controllers' metrics go (the server's /metrics registry); default a registry of their own. */
  metrics?: MetricsRegistry;
}

export interface RunningControllers {
  stop(): Promise<void>;
  /** Resolves when no controller has queued, running or retrying work (periodic polls aside). */
  waitForIdle(options?: { timeoutMs?: number }): Promise<void>;
  metrics: MetricsRegistry;
  /** Whether every informer follows the store (false while one re-lists after its watch ended). */
  synced(): boolean;
}

export async function startControllers(deps: StartControllersDeps): Promise<RunningControllers> {
  const metrics = deps.metrics ?? new MetricsRegistry();
  const logger = deps.logger ?? pino({ level: 'silent' });
  const clock = deps.clock ?? Date;
  const now = (): number => clock.now();
  const nodeName = deps.nodeName ?? hostname();
  const roles = { controlPlane: deps.roles?.controlPlane ?? true, node: deps.roles?.node ?? true };
  const contextOn = (
    store: ResourceStore,
    informersOf?: ConstructorParameters<typeof ControllerManager>[0]['informersOf'],
  ): ControllerContext => {
    const manager = new ControllerManager({
      store,
      metrics,
      logger,
      now,
      ...(informersOf ? { informersOf } : {}),
    });
    return {
      store,
      runtime: deps.runtime,
      manager,
      informers: sharedInformers(manager),
      macAssigner: deps.macAssigner,
      nodeName,
      auditUser: deps.auditUser ?? CONTROLLER_USER,
      logger,
      metrics,
      now,
      concurrency: deps.concurrency ?? 4,
      ...(deps.imageStore ? { images: deps.imageStore } : {}),
    };
  };
  const managers: ControllerManager[] = [];
  let controlPlane: ControllerManager | undefined;
  if (roles.controlPlane) {
    const ctx = contextOn(deps.store);
    const scheduler = schedulerController(ctx, {
      ...(roles.node ? { localNode: nodeName } : {}),
      ...(deps.nodeGraceMs !== undefined ? { graceMs: deps.nodeGraceMs } : {}),
    });
    vmController(ctx);
    vmiController(ctx, scheduler);
    maintenanceController(ctx);
    if (deps.macReleaser) poolGcController(ctx, deps.macReleaser);
    macPoolStatusController(ctx);
    if (deps.vmCreator) cloneController(ctx, deps.vmCreator);
    if (deps.imageStore) imagesController(ctx, deps.imageStore);
    dataVolumeControllers(ctx);
    managers.push(ctx.manager);
    controlPlane = ctx.manager;
  }
  let unsubscribe = (): void => {};
  let removeNetworkMetrics = (): void => {};
  if (roles.node) {
    // The node side sees only the Pods and VMIs scheduled to this node. Beside the control plane it reads the control
    // plane's informers through that filter (one cache per process: no second watch, parse and copy of every object).
    const mine = (o: KubeObject): boolean => scheduledNode(o) === nodeName;
    const ctx = contextOn(
      new NodeView(deps.store, nodeName),
      controlPlane
        ? {
            manager: controlPlane,
            filterFor: (kind) => (NODE_SCOPED_KINDS.has(kind) ? mine : undefined),
          }
        : undefined,
    );
    // Start order matters for the start hooks: the launcher stops orphan guests before the network plugin tears down
    // orphan pods (a guest's NIC sits on its pod's interfaces).
    const launcher = launcherController(ctx);
    networkControllers(ctx);
    fixedAddressGcController(ctx, { watchVms: roles.controlPlane });
    volumesController(ctx);
    const observer = observerController(
      ctx,
      deps.observerPollMs !== undefined ? { pollMs: deps.observerPollMs } : {},
    );
    connectivityController(ctx, deps.connectivity ?? {});
    removeNetworkMetrics = vmiNetworkMetrics(ctx);
    unsubscribe = deps.runtime.subscribe((event) => {
      const vmi = ctx.informers.vmis.byIndex(INDEX_UID, event.vmiUid)[0];
      if (!vmi) return;
      const key = objectKey(vmi);
      launcher.enqueue(key);
      observer.enqueue(key);
    });
    managers.push(ctx.manager);
  }
  const stopAll = async (): Promise<void> => {
    unsubscribe();
    removeNetworkMetrics();
    await Promise.all(managers.map((m) => m.stop()));
  };
  try {
    // Every side's informers and start hooks first (adopting or stopping guests, tearing down orphans), then the
    // reconciles: none competes with a start hook, and none acts before every hook has run.
    for (const m of managers) await m.sync();
    for (const m of managers) m.run();
  } catch (e) {
    await stopAll();
    throw e;
  }
  logger.info({ nodeName, runtime: deps.runtime.name, roles }, 'controllers started');
  const stopWaking = deps.clock?.onAdvance?.(() => {
    for (const m of managers) m.fireDueTimers();
  });
  return {
    async stop() {
      stopWaking?.();
      await stopAll();
    },
    async waitForIdle(options) {
      // Each side's work can make work for the other (a pod the vmi controller creates, a phase the launcher writes).
      for (let round = 0; round < 2; round++)
        for (const m of managers) await m.waitForIdle(options);
    },
    metrics,
    synced: () => managers.every((m) => m.synced),
  };
}
