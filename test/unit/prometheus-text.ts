// Prometheus' text exposition format read back for tests: families (# TYPE) and samples; a line that is neither a comment
// nor a well-formed sample throws, so a test that parses a scrape also checks that Prometheus could read it.

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedScrape {
  /** Family name → type (counter, gauge, histogram, summary, untyped). */
  types: Map<string, string>;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,?)/;

const unescape = (v: string): string =>
  v.replace(/\\([\\"n])/g, (_, c: string) => (c === 'n' ? '\n' : c));

// Values are read as Prometheus reads them (Go's ParseFloat): Inf, Infinity and NaN in any case, with an optional sign.
function parseValue(text: string, line: string): number {
  const [value = ''] = text.trim().split(/\s+/); // a timestamp may follow
  if (/^[+-]?(inf|infinity)$/i.test(value)) return value.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(value)) return NaN;
  const n = Number(value);
  if (value === '' || Number.isNaN(n)) throw new Error(`not a sample value: ${line}`);
  return n;
}

function parseSample(line: string): ParsedSample {
  const name = NAME.exec(line)?.[0];
  if (!name) throw new Error(`not a sample line: ${line}`);
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    while (!rest.startsWith('}')) {
      const m = LABEL.exec(rest);
      if (!m) throw new Error(`bad label set: ${line}`);
      labels[m[1]!] = unescape(m[2]!);
      rest = rest.slice(m[0].length);
      if (m[3] === '' && !rest.startsWith('}')) throw new Error(`bad label set: ${line}`);
    }
    rest = rest.slice(1);
  }
  if (!/^\s/.test(rest)) throw new Error(`no value: ${line}`);
  return { name, labels, value: parseValue(rest, line) };
}

export function parseScrape(text: string): ParsedScrape {
  const types = new Map<string, string>();
  const samples: ParsedSample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m =
        /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
      else if (!line.startsWith('# HELP ')) throw new Error(`bad comment line: ${line}`);
      continue;
    }
    samples.push(parseSample(line));
  }
  return { types, samples };
}

/** The names a query may select: counters and gauges as typed, a histogram's _bucket, _sum and _count. */
export function seriesNames(scrape: ParsedScrape): Set<string> {
  const names = new Set<string>();
  for (const [name, type] of scrape.types) {
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    else if (type === 'summary') for (const s of ['', '_sum', '_count']) names.add(name + s);
    else names.add(name);
  }
  return names;
}

/** The value of the series of `name` whose labels include `labels`, undefined when there is none. */
export function sample(
  text: string,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  return parseScrape(text).samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}
