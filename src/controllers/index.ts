// Starts Harrow's controllers on one store and one runtime: vm, vmi, network plugin, launcher, observer, connectivity, pool-gc.
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import type { Runtime } from '../runtime/types.ts';
import type { ResourceStore } from '../store/types.ts';
import { connectivityController, type ConnectivityOptions } from './connectivity.ts';
import { INDEX_UID, sharedInformers, type ControllerContext, type MacAssigner } from './context.ts';
import { ControllerManager, objectKey } from './framework.ts';
import { launcherController } from './launcher.ts';
import { maintenanceController } from './maintenance.ts';
import { MetricsRegistry } from './metrics.ts';
import { networkControllers } from './network.ts';
import { observerController } from './observer.ts';
import { poolGcController, type MacReleaser } from './pool-gc.ts';
import { cloneController, type VmCreator } from './clone.ts';
import { vmController, vmiController } from './vm.ts';

export type { MacAssigner } from './context.ts';
export type { MacReleaser } from './pool-gc.ts';
export type { VmCreator } from './clone.ts';
export { MetricsRegistry } from './metrics.ts';

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
}

export interface RunningControllers {
  stop(): Promise<void>;
  /** Resolves when no controller has queued, running or retrying work (periodic polls aside). */
  waitForIdle(options?: { timeoutMs?: number }): Promise<void>;
  metrics: MetricsRegistry;
}

export async function startControllers(deps: StartControllersDeps): Promise<RunningControllers> {
  const metrics = new MetricsRegistry();
  const logger = deps.logger ?? pino({ level: 'silent' });
  const clock = deps.clock ?? Date;
  const now = (): number => clock.now();
  const manager = new ControllerManager({ store: deps.store, metrics, logger, now });
  const ctx: ControllerContext = {
    store: deps.store,
    runtime: deps.runtime,
    manager,
    informers: sharedInformers(manager),
    macAssigner: deps.macAssigner,
    nodeName: deps.nodeName ?? hostname(),
    logger,
    metrics,
    now,
    concurrency: deps.concurrency ?? 4,
  };
  // Start order matters for the start hooks: the launcher stops orphan guests before the network plugin tears down
  // orphan pods (a guest's NIC sits on its pod's interfaces).
  vmController(ctx);
  vmiController(ctx);
  maintenanceController(ctx);
  const launcher = launcherController(ctx);
  networkControllers(ctx);
  const observer = observerController(ctx, deps.observerPollMs !== undefined ? { pollMs: deps.observerPollMs } : {});
  connectivityController(ctx, deps.connectivity ?? {});
  if (deps.macReleaser) poolGcController(ctx, deps.macReleaser);
  if (deps.vmCreator) cloneController(ctx, deps.vmCreator);
  const unsubscribe = deps.runtime.subscribe((event) => {
    const vmi = ctx.informers.vmis.byIndex(INDEX_UID, event.vmiUid)[0];
    if (!vmi) return;
    const key = objectKey(vmi);
    launcher.enqueue(key);
    observer.enqueue(key);
  });
  try {
    await manager.start();
  } catch (e) {
    unsubscribe();
    await manager.stop();
    throw e;
  }
  logger.info({ nodeName: ctx.nodeName, runtime: deps.runtime.name }, 'controllers started');
  const stopWaking = deps.clock?.onAdvance?.(() => manager.fireDueTimers());
  return {
    async stop() {
      stopWaking?.();
      unsubscribe();
      await manager.stop();
    },
    waitForIdle: (options) => manager.waitForIdle(options),
    metrics,
  };
}
