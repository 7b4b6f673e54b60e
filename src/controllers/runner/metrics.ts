// The controllers' metric families: controller-runtime's and client-go workqueue's names.
import { counter, gauge, histogram, type MetricsRegistry } from '../../metrics/families.ts';

// controller-runtime's reconcile-time buckets: from 5 ms to a minute.
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1,
  1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

/**
 * One controller's reconciles and queue, under controller-runtime's names (`controller_runtime_*`) and client-go
 * workqueue's (`workqueue_*`, labelled `name` and, as controller-runtime does, `controller`), so dashboards and alerts
 * written for Kubernetes controllers read Harrow's.
 */
export function controllerMetrics(registry: MetricsRegistry) {
  return {
    reconciles: counter(registry, {
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller, by result (success, error, requeue_after).',
      labelNames: ['controller', 'result'],
    }),
    errors: counter(registry, {
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller.',
      labelNames: ['controller'],
    }),
    reconcileTime: histogram(registry, {
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller.',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS,
    }),
    activeWorkers: gauge(registry, {
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller.',
      labelNames: ['controller'],
    }),
    maxConcurrent: gauge(registry, {
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller.',
      labelNames: ['controller'],
    }),
    depth: gauge(registry, {
      name: 'workqueue_depth',
      help: 'Current depth of workqueue: keys waiting to be reconciled (not the ones being reconciled).',
      labelNames: ['name', 'controller'],
    }),
    adds: counter(registry, {
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue (an add of a key already waiting is not counted).',
      labelNames: ['name', 'controller'],
    }),
    retries: counter(registry, {
      name: 'workqueue_retries_total',
      help: 'Total number of retries (re-adds after a failed reconcile, with backoff) handled by workqueue.',
      labelNames: ['name', 'controller'],
    }),
  };
}

export type ControllerMetrics = ReturnType<typeof controllerMetrics>;
