// Metric families read when Prometheus scrapes (from the store, from the runtime) rather than kept current between
// scrapes: each family shows the samples of every source added for it, read once per scrape.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ScrapedFamily {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  labelNames: readonly string[];
}

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** One read of a source: samples by family name. */
export type Samples = Record<string, Sample[]>;

interface Source {
  read: () => Promise<Samples>;
  onError?: (error: unknown) => void;
}

const sourcesByRegistry = new WeakMap<Registry, Map<string, Set<Source>>>();

/** `read` once at a time: the families of one scrape are collected together, so they share one read. */
export function sharedRead<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= read().finally(() => {
      pending = undefined;
    }));
}

async function samplesOf(sources: Iterable<Source>, family: string): Promise<Sample[]> {
  const read = await Promise.all(
    [...sources].map(async (s) => {
      try {
        return (await s.read())[family] ?? [];
      } catch (error) {
        // One source failing (a store mid-close) must not fail the whole scrape: its series are left out.
        s.onError?.(error);
        return [];
      }
    }),
  );
  return read.flat();
}

function register(registry: Registry, family: ScrapedFamily, sources: Set<Source>): void {
  const existing = registry.getSingleMetric(family.name);
  if (existing !== undefined)
    throw new Error(`metric ${family.name} is already registered (not as a scraped family)`);
  const config = {
    name: family.name,
    help: family.help,
    labelNames: [...family.labelNames],
    registers: [registry],
  };
  const fill = async (
    metric: Counter<string> | Gauge<string>,
    put: (s: Sample) => void,
  ): Promise<void> => {
    const samples = await samplesOf(sources, family.name);
    metric.reset();
    for (const s of samples) put(s);
  };
  if (family.type === 'counter')
    new Counter({
      ...config,
      async collect() {
        await fill(this, (s) => this.inc(s.labels, s.value));
      },
    });
  else
    new Gauge({
      ...config,
      async collect() {
        await fill(this, (s) => this.set(s.labels, s.value));
      },
    });
}

/**
 * Adds a source for `families` on `registry` (registering each family on first use); the returned function removes it,
 * e.g. when the controllers that own what it reads stop (a leadership change), so a scrape never reads a stopped source.
 */
export function addScrapeSource(
  registry: Registry,
  families: readonly ScrapedFamily[],
  read: () => Promise<Samples>,
  onError?: (error: unknown) => void,
): () => void {
  let byFamily = sourcesByRegistry.get(registry);
  if (!byFamily) sourcesByRegistry.set(registry, (byFamily = new Map()));
  const source: Source = { read: sharedRead(read), ...(onError ? { onError } : {}) };
  const sets: Set<Source>[] = [];
  for (const family of families) {
    let sources = byFamily.get(family.name);
    if (!sources) {
      sources = new Set();
      register(registry, family, sources);
      byFamily.set(family.name, sources);
    }
    sources.add(source);
    sets.push(sources);
  }
  return () => {
    for (const s of sets) s.delete(source);
  };
}
