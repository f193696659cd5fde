import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import {
  createReplication,
  endStream,
  type RunningCli,
  replicationEnv,
  startRun,
  uniqueName,
  waitFor,
  waitForReplicating,
  writeMappings,
} from '../support/replication.js';
import { createSchemas } from '../support/schemas.js';
import { onPath, type PrometheusServer, startPrometheus } from './prometheus-server.js';

const rules = 'ops/prometheus/alerts.yml';
const ruleTests = 'ops/prometheus/alerts.test.yml';

// Debian's `prometheus` package provides both; scripts/test.sh installs it where it is missing.
const installed = onPath('promtool') && onPath('prometheus');

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe.skipIf(!installed)('alert rules (promtool)', () => {
  it('are valid rules', () => {
    const { status, output } = promtool('check', 'rules', rules);
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
    expect(status).toBe(0);
  });

  it('pass their unit tests, firing and not firing', () => {
    const { status, output } = promtool('test', 'rules', ruleTests);
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });
});

const mappingYaml = `
- name: items
  source: public.item
  target: stg_item
  key: { id: id }
  columns: { n: n }
`;

describe.skipIf(!installed)('Prometheus scraping millrace run', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  let prometheus: PrometheusServer | undefined;
  const name = uniqueName('prom');

  beforeAll(async () => {
    dbs = await createTestDatabases('prometheus_scrape');
    await createSchemas(dbs, 'create table item (id int primary key, n int)', [
      'create table stg_item (id int primary key, n int)',
    ]);
    await createReplication(dbs, name, ['item']);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await endStream(dbs, name, run);
  });

  it('queries the lag and the slot WAL series, and evaluates every rule on them', async () => {
    const metricsPort = await freePort();
    run = startRun(
      ['--metrics-port', String(metricsPort)],
      replicationEnv(dbs, name, writeMappings({ 'items.yaml': mappingYaml })),
    );
    await waitForReplicating(run);
    await dbs.pg.query('insert into item values (1, 10)');
    await waitFor('the row on the MES', async () => {
      const [rows] = await dbs.mysql.query('select n from stg_item where id = 1');
      return (rows as unknown[]).length === 1;
    });

    const target = `127.0.0.1:${metricsPort}`;
    prometheus = await startPrometheus({ target, ruleFiles: [rules] });
    const server = prometheus;
    const seen = async (expr: string) => (await server.query(expr)).length > 0;

    await waitFor('the lag series', () => seen('millrace_lag_bytes'), 30_000);
    const [lag] = await server.query('millrace_lag_seconds');
    expect(lag?.metric).toMatchObject({ job: 'millrace', instance: target });
    expect(await server.query('millrace_up == 1')).toHaveLength(1);
    expect(
      await server.query('sum by (mapping, operation) (millrace_changes_total)'),
    ).toMatchObject([
      { metric: { mapping: 'items', operation: 'insert' }, value: [expect.anything(), '1'] },
    ]);

    // Every mapping's dead-letter counter exists from the start, so increase() sees the first.
    expect
      .soft(await server.query('millrace_dead_letters_total'))
      .toMatchObject([{ metric: { mapping: 'items' }, value: [expect.anything(), '0'] }]);

    // The progress timer reads the slot every 10 s.
    await waitFor(
      'the slot WAL series',
      () => seen(`millrace_slot_retained_wal_bytes{slot="${name}"}`),
      40_000,
    );
    const [retained] = await server.query(`millrace_slot_retained_wal_bytes{slot="${name}"}`);
    expect(Number(retained?.value[1])).toBeGreaterThan(0);

    await waitFor(
      'every rule to be evaluated',
      async () => (await server.rules()).every((rule) => rule.health === 'ok'),
      30_000,
    );
    expect((await server.rules()).map((rule) => rule.name)).toContain('MillraceLagging');
    // A healthy replicator: nothing firing, nothing pending.
    expect(await server.query('ALERTS')).toEqual([]);
  }, 150_000);
});
