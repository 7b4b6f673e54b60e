// Metric families on a prom-client Registry, fetched or created by name: every controller manager (and every restart of
// one, after a leadership change) and the API server on one registry share them.
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

export { Registry as MetricsRegistry } from 'prom-client';

type Family = Counter<string> | Gauge<string> | Histogram<string>;

function family<T extends Family>(
  registry: Registry,
  name: string,
  type: abstract new (...args: never[]) => T,
  make: () => T,
): T {
  const existing = registry.getSingleMetric(name);
  if (existing === undefined) return make();
  if (!(existing instanceof type))
    throw new Error(`metric ${name} is already registered with another type`);
  return existing;
}

export const counter = <L extends string>(
  registry: Registry,
  config: CounterConfiguration<L>,
): Counter<L> =>
  family(
    registry,
    config.name,
    Counter,
    () => new Counter({ ...config, registers: [registry] }),
  ) as Counter<L>;

export const gauge = <L extends string>(
  registry: Registry,
  config: GaugeConfiguration<L>,
): Gauge<L> =>
  family(
    registry,
    config.name,
    Gauge,
    () => new Gauge({ ...config, registers: [registry] }),
  ) as Gauge<L>;

export const histogram = <L extends string>(
  registry: Registry,
  config: HistogramConfiguration<L>,
): Histogram<L> =>
  family(
    registry,
    config.name,
    Histogram,
    () => new Histogram({ ...config, registers: [registry] }),
  ) as Histogram<L>;
