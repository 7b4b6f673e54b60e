// One reconciler (controller-runtime's reconcile.Reconciler role) with its work queue, requeue-after timers, per-key
// exponential backoff on errors and bounded concurrency.
import type { Logger } from 'pino';
import type { MetricsRegistry } from '../../metrics/families.ts';
import { controllerMetrics, type ControllerMetrics } from './metrics.ts';
import { DelayQueue } from './delay-queue.ts';
import { WorkQueue } from './work-queue.ts';

/** What a reconcile asks for: nothing (done), or to run again after `requeueAfter` ms. A throw is retried with backoff. */
export interface Result {
  requeueAfter?: number;
}

export type Reconcile = (key: string) => Promise<Result>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconcile;
  /** Keys reconciled at once (default 4). */
  concurrency?: number;
  /** First retry delay after an error (default 20 ms), doubled per consecutive failure up to maxBackoffMs (30 s). */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Runs once the informers are synced and before the first reconcile (e.g. adopt or clean up runtime leftovers). */
  onStart?: () => Promise<void>;
}

export interface RunnerContext {
  logger: Logger;
  metrics: MetricsRegistry;
  now: () => number;
}

/** One reconciler with its queue. Keys come from informer handlers (enqueue), timers (requeueAfter) and retries. */
export class Controller {
  readonly name: string;
  private readonly queue = new WorkQueue();
  private readonly requeues: DelayQueue;
  private readonly retries: DelayQueue;
  private readonly failures = new Map<string, number>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly concurrency: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private running = false;
  private stopped = false;
  private pumpScheduled = false;
  private readonly logger: Logger;
  private readonly metrics: ControllerMetrics;
  private readonly labels: { controller: string };
  private readonly queueLabels: { name: string; controller: string };

  constructor(
    private readonly options: ControllerOptions,
    private readonly context: RunnerContext,
  ) {
    this.name = options.name;
    this.concurrency = options.concurrency ?? 4;
    this.baseBackoffMs = options.baseBackoffMs ?? 20;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.logger = context.logger.child({ controller: options.name });
    this.requeues = new DelayQueue((k) => this.enqueue(k), context.now);
    this.retries = new DelayQueue((k) => this.enqueue(k), context.now);
    this.metrics = controllerMetrics(context.metrics);
    this.labels = { controller: options.name };
    this.queueLabels = { name: options.name, controller: options.name };
    this.metrics.maxConcurrent.set(this.labels, this.concurrency);
    this.metrics.activeWorkers.set(this.labels, 0);
    this.metrics.depth.set(this.queueLabels, 0);
  }

  /** The queue gauges follow every add, take and done. */
  private observeQueue(): void {
    this.metrics.depth.set(this.queueLabels, this.queue.length);
    this.metrics.activeWorkers.set(this.labels, this.queue.active);
  }

  enqueue(key: string): void {
    if (this.stopped) return;
    if (this.queue.add(key)) this.metrics.adds.inc(this.queueLabels);
    this.observeQueue();
    this.schedulePump();
  }

  enqueueAfter(key: string, ms: number): void {
    if (this.stopped) return;
    this.requeues.add(key, ms);
  }

  /** Runs the requeue-after and retry timers that are due by the clock now (call after moving a test clock forward). */
  fireDueTimers(): void {
    if (this.stopped) return;
    this.requeues.fireDue();
    this.retries.fireDue();
  }

  /** Runs the start hook; the manager runs every controller's hook before any controller works its queue. */
  async prepare(): Promise<void> {
    if (this.options.onStart) await this.options.onStart();
  }

  run(): void {
    if (this.stopped) return;
    this.running = true;
    this.schedulePump();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    this.requeues.clear();
    this.retries.clear();
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Nothing queued, nothing running and no error retry pending (requeueAfter polls do not count). */
  get idle(): boolean {
    return this.queue.length === 0 && this.queue.active === 0 && this.failures.size === 0;
  }

  /** What keeps the controller busy, for a waitForIdle timeout message. */
  busy(): string[] {
    return [...this.queue.pending(), ...[...this.failures.keys()].map((k) => `${k} (retrying)`)];
  }

  /**
   * Store calls resolve as microtasks, so reconciles started from a finishing one would chain microtasks forever and
   * starve timers and I/O (HTTP, runtime boots). Starting work from setImmediate lets the event loop turn in between.
   */
  private schedulePump(): void {
    if (this.pumpScheduled || !this.running) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (!this.running) return;
    while (this.queue.active < this.concurrency) {
      const key = this.queue.take();
      if (key === undefined) return;
      this.observeQueue();
      const p = this.process(key).finally(() => {
        this.inflight.delete(p);
        this.queue.done(key);
        this.observeQueue();
        this.schedulePump();
      });
      this.inflight.add(p);
    }
  }

  private async process(key: string): Promise<void> {
    const timer = this.metrics.reconcileTime.startTimer(this.labels);
    try {
      const result = await this.options.reconcile(key);
      timer();
      this.failures.delete(key);
      if (result.requeueAfter !== undefined) this.requeues.add(key, result.requeueAfter);
      this.metrics.reconciles.inc({
        controller: this.name,
        result: result.requeueAfter !== undefined ? 'requeue_after' : 'success',
      });
    } catch (e) {
      timer();
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** Math.min(n - 1, 30));
      if (!this.stopped) {
        this.retries.add(key, delay);
        this.metrics.retries.inc(this.queueLabels);
      }
      this.metrics.reconciles.inc({ controller: this.name, result: 'error' });
      this.metrics.errors.inc(this.labels);
      const level = n > 3 ? 'warn' : 'debug';
      this.logger[level](
        { key, attempt: n, retryInMs: delay, err: e instanceof Error ? e.message : String(e) },
        'reconcile failed',
      );
    }
  }
}
