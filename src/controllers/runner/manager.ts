// The controller manager: one informer per kind shared by every controller, started, synced and stopped together.
import { pino, type Logger } from 'pino';
import type { KubeObject } from '../../resources/meta.ts';
import type { ResourceStore } from '../../store/types.ts';
import type { MetricsRegistry } from '../../metrics/families.ts';
import { Controller, type ControllerOptions } from './controller.ts';
import { Informer, InformerView, type SharedInformer } from './informer.ts';

export interface ManagerOptions {
  store: ResourceStore;
  metrics: MetricsRegistry;
  logger?: Logger;
  now?: () => number;
  /**
   * Read every kind from this other manager's informers instead of watching the store again (one cache per process):
   * through the filter `filterFor` gives for a kind, as is where it gives none. That manager starts (and stops) them, and
   * must be started first.
   */
  informersOf?: {
    manager: ControllerManager;
    filterFor(kind: string): ((o: KubeObject) => boolean) | undefined;
  };
}

/** Owns the informers (one per kind, shared by every controller) and the controllers; starts and stops them together. */
export class ControllerManager {
  readonly store: ResourceStore;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  readonly now: () => number;
  private readonly informers = new Map<string, SharedInformer>();
  private readonly controllers: Controller[] = [];
  private readonly informersOf: ManagerOptions['informersOf'];
  private started = false;

  constructor(options: ManagerOptions) {
    this.informersOf = options.informersOf;
    this.store = options.store;
    this.metrics = options.metrics;
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.now = options.now ?? Date.now;
  }

  informer<T extends KubeObject>(kind: string): SharedInformer<T> {
    let inf = this.informers.get(kind);
    if (!inf) {
      if (this.started) throw new Error(`informer ${kind} requested after start`);
      if (this.informersOf) {
        const source = this.informersOf.manager.storeInformer(kind);
        const filter = this.informersOf.filterFor(kind);
        inf = filter ? new InformerView(source, filter) : source;
      } else inf = this.storeInformer(kind);
      this.informers.set(kind, inf);
    }
    return inf as unknown as SharedInformer<T>;
  }

  /** The informer of a kind that this manager watches the store for (made on first request). */
  private storeInformer(kind: string): Informer {
    if (this.informersOf) return this.informersOf.manager.storeInformer(kind);
    let inf = this.informers.get(kind);
    if (!inf) {
      if (this.started) throw new Error(`informer ${kind} requested after start`);
      inf = new Informer(kind, this.store, this.logger);
      this.informers.set(kind, inf);
    }
    return inf as Informer;
  }

  controller(options: ControllerOptions): Controller {
    const c = new Controller(options, {
      logger: this.logger,
      metrics: this.metrics,
      now: this.now,
    });
    this.controllers.push(c);
    return c;
  }

  /** Syncs every informer (listing each kind enqueues every existing object), runs the start hooks in order, then starts the controllers. */
  async start(): Promise<void> {
    await this.sync();
    this.run();
  }

  /** start() without running the controllers: informers synced and start hooks run (run() follows). */
  async sync(): Promise<void> {
    this.started = true;
    if (this.informersOf) {
      if (!this.synced) throw new Error('sync the manager whose informers this one reads first');
    } else await Promise.all([...this.informers.values()].map((i) => (i as Informer).start()));
    for (const c of this.controllers) await c.prepare();
  }

  /** The controllers start working their queues. */
  run(): void {
    for (const c of this.controllers) c.run();
  }

  /** Every informer follows the store (none is re-listing after the store ended its watch). */
  get synced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced);
  }

  async stop(): Promise<void> {
    if (!this.informersOf) for (const i of this.informers.values()) (i as Informer).stop();
    await Promise.all(this.controllers.map((c) => c.stop()));
  }

  /** Fires every controller's timers that are due by now(): timers are real, so a test clock that jumps needs this. */
  fireDueTimers(): void {
    for (const c of this.controllers) c.fireDueTimers();
  }

  /** Resolves once every controller stays idle across a few event-loop turns; rejects naming the busy keys on timeout. */
  async waitForIdle(options: { timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    let stable = 0;
    while (stable < 3) {
      await new Promise((r) => setTimeout(r, stable === 0 ? 2 : 0));
      if (this.controllers.every((c) => c.idle)) stable++;
      else stable = 0;
      if (Date.now() > deadline) {
        const busy = this.controllers
          .filter((c) => !c.idle)
          .map((c) => `${c.name}: ${c.busy().slice(0, 10).join(', ')}`);
        throw new Error(
          `controllers not idle after ${options.timeoutMs ?? 30_000} ms: ${busy.join('; ')}`,
        );
      }
    }
  }
}
