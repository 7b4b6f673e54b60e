// A small metrics registry: counters and gauges with labels, rendered in the Prometheus text exposition format.

export type Labels = Record<string, string>;

interface Series {
  labels: string[];
  value: number;
}

abstract class Metric {
  protected readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly type: 'counter' | 'gauge',
  ) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name))
      throw new Error(`invalid metric name ${JSON.stringify(name)}`);
  }

  protected values(labels: Labels): string[] {
    return this.labelNames.map((l) => {
      const v = labels[l];
      if (v === undefined) throw new Error(`metric ${this.name}: label ${l} is missing`);
      return v;
    });
  }

  protected entry(labels: Labels): Series {
    const values = this.values(labels);
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels: values, value: 0 }));
    return s;
  }

  get(labels: Labels): number | undefined {
    return this.series.get(this.values(labels).join('\u0000'))?.value;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    out.push(`# TYPE ${this.name} ${this.type}`);
    for (const s of this.series.values()) {
      const labels = s.labels.map((v, i) => `${this.labelNames[i]}="${escapeLabel(v)}"`).join(',');
      out.push(`${this.name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`);
    }
  }
}

export class Counter extends Metric {
  constructor(name: string, help: string, labelNames: readonly string[]) {
    super(name, help, labelNames, 'counter');
  }

  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new Error(`counter ${this.name} cannot decrease`);
    this.entry(labels).value += by;
  }
}

export class Gauge extends Metric {
  constructor(name: string, help: string, labelNames: readonly string[]) {
    super(name, help, labelNames, 'gauge');
  }

  set(labels: Labels, value: number): void {
    this.entry(labels).value = value;
  }

  /** Drops one series (e.g. the VM is gone), so it stops being exported. */
  remove(labels: Labels): void {
    this.series.delete(this.values(labels).join('\u0000'));
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.register(name, () => new Counter(name, help, labelNames), Counter);
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.register(name, () => new Gauge(name, help, labelNames), Gauge);
  }

  /** Prometheus text exposition format, version 0.0.4. */
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics.values()) m.render(out);
    return out.length > 0 ? `${out.join('\n')}\n` : '';
  }

  private register<T extends Metric>(
    name: string,
    make: () => T,
    type: new (...args: never[]) => T,
  ): T {
    const existing = this.metrics.get(name);
    if (existing) {
      if (!(existing instanceof type))
        throw new Error(`metric ${name} is already registered with another type`);
      return existing;
    }
    const m = make();
    this.metrics.set(name, m);
    return m;
  }
}

const escapeLabel = (v: string): string =>
  v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
