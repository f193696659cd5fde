import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MetricFamilies } from '../../src/metrics/metric-families.js';

/** Every series name `millrace run` exports (histograms as their _bucket/_sum/_count series). */
async function exportedNames(): Promise<ReadonlySet<string>> {
  const metrics = new MetricFamilies();
  const names = new Set<string>();
  for (const { name, type } of await metrics.registry.getMetricsAsJSON()) {
    names.add(name);
    // prom-client's typings declare a numeric enum; at run time the type is its name.
    if (String(type) === 'histogram') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    }
  }
  return names;
}

/** The millrace metric names a PromQL expression reads. */
function metricsIn(expr: string): string[] {
  return expr.match(/\bmillrace_[a-zA-Z0-9_]+/g) ?? [];
}

interface Panel {
  readonly title: string;
  readonly targets?: readonly { readonly expr: string }[];
}

const dashboard = JSON.parse(readFileSync('ops/grafana/millrace.json', 'utf8')) as {
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly { readonly query: { readonly query: string } }[] };
};

describe('the Grafana dashboard and the alert rules', () => {
  it('query only metrics millrace exports', async () => {
    const exported = await exportedNames();
    const rules = parse(readFileSync('ops/prometheus/alerts.yml', 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const exprs = [
      ...dashboard.panels.flatMap((panel) =>
        (panel.targets ?? []).map((target) => ({ where: panel.title, expr: target.expr })),
      ),
      ...dashboard.templating.list.map((variable) => ({
        where: 'variable',
        expr: variable.query.query,
      })),
      ...rules.groups.flatMap((group) =>
        group.rules.map((rule) => ({ where: rule.alert, expr: rule.expr })),
      ),
    ];
    expect(exprs.length).toBeGreaterThan(20);
    for (const { where, expr } of exprs) {
      const names = metricsIn(expr);
      expect(names, `${where}: ${expr}`).not.toEqual([]);
      for (const name of names) expect(exported, `${where}: ${name}`).toContain(name);
    }
  });

  it('shows lag, throughput by mapping, apply latency, dead letters, up and standby', () => {
    const all = dashboard.panels.flatMap((panel) => panel.targets ?? []).map((t) => t.expr);
    for (const name of [
      'millrace_lag_seconds',
      'millrace_lag_bytes',
      'millrace_changes_total',
      'millrace_batch_apply_seconds_bucket',
      'millrace_dead_letters_total',
      'millrace_up',
      'millrace_standby',
      'millrace_slot_retained_wal_bytes',
    ]) {
      expect(
        all.some((expr) => metricsIn(expr).includes(name)),
        name,
      ).toBe(true);
    }
    expect(
      all.some((expr) => /sum by \(direction, mapping\) \(rate\(millrace_changes_total/.test(expr)),
    ).toBe(true);
    // Every stream series is selected by direction (to-mes, to-crm); process metrics have none.
    for (const expr of all.filter((one) => !one.includes('millrace_process_'))) {
      expect(expr).toContain('direction=~"$direction"');
    }
  });
});
