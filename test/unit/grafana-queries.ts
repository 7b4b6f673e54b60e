// The PromQL of deploy/grafana/harrow.json: every panel target and the selector of every `label_values` variable, and
// Grafana's interval variables filled in as Grafana would before it sends a query to Prometheus.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DASHBOARD = fileURLToPath(new URL('../../deploy/grafana/harrow.json', import.meta.url));

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Array<{ refId: string; expr: string }>;
  panels?: Panel[];
}

export interface Query {
  where: string;
  expr: string;
}

/** Every PromQL expression of the dashboard: panel targets, and the metric of each `label_values(metric, label)`. */
export function queries(): Query[] {
  const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Panel[];
    templating: { list: Array<{ name: string; type: string; definition?: string }> };
  };
  const out: Query[] = [];
  const walk = (panels: Panel[]): void => {
    for (const p of panels) {
      if (p.type !== 'row') assert.ok(p.targets?.length, `panel "${p.title}" has a query`);
      for (const t of p.targets ?? []) out.push({ where: `${p.title} (${t.refId})`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const m = /^label_values\((.+), *[a-zA-Z_]\w*\)$/.exec(v.definition ?? '');
    assert.ok(m, `variable ${v.name}: label_values(selector, label)`);
    out.push({ where: `variable ${v.name}`, expr: m[1]! });
  }
  return out;
}

/** An expression as Grafana sends it with every value of a variable selected: intervals 5m, the others All (`.*`). */
export const filled = (expr: string): string =>
  expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$[a-zA-Z_]\w*/g, '.*');
