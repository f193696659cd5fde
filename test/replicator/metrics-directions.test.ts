import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import {
  createReplication,
  dropReplication,
  endRun,
  type RunningCli,
  uniqueName,
  waitFor,
} from '../support/replication.js';
import {
  dropReturnOrigin,
  migrateWorkOrders,
  startReturnRun,
  waitForWorkOrders,
  workOrderMappings,
} from '../support/return-path.js';

const itemsMapping = `
name: items
source: public.item
target: stg_item
key: { id: id }
columns: { n: n }
`;

/** Every sample on a run's /metrics, as its name, labels and value. */
async function samples(port: number) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split('\n').flatMap((line) => {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) return [];
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((pair) => [pair[1], pair[2]]),
    );
    return [{ name: match[1]!, labels, value: Number(match[3]) }];
  });
}

/** The value of the one sample of `name` whose labels include `labels`, or undefined. */
async function sample(
  port: number,
  name: string,
  labels: Readonly<Record<string, string>>,
): Promise<number | undefined> {
  return (await samples(port)).find(
    (one) =>
      one.name === name &&
      Object.entries(labels).every(([key, value]) => one.labels[key] === value),
  )?.value;
}

describe('metrics of run --direction both', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  const stream = uniqueName('mdir');

  beforeAll(async () => {
    dbs = await createTestDatabases('metrics_directions');
    await migrateWorkOrders(dbs);
    await dbs.pg.query('create table item (id int primary key, n int)');
    await dbs.mysql.query('create table stg_item (id int primary key, n int)');
    await createReplication(dbs, stream, ['item']);
  }, 120_000);

  afterAll(async () => {
    await endRun(run);
    if (dbs) {
      await dropReplication(dbs, stream);
      await dropReturnOrigin(dbs, stream);
      await dbs.drop();
    }
  });

  it('serves both streams from one registry, each series labelled with its direction', async () => {
    const port = await freePort();
    run = await startReturnRun(
      ['--direction', 'both', '--metrics-port', String(port)],
      dbs,
      stream,
      workOrderMappings({ 'items.yaml': itemsMapping }),
    );
    await dbs.pg.query('insert into item values (1, 10)');
    await dbs.mysql.query(
      `insert into work_order (crm_order_id, planned_start, planned_finish, qty_planned)
       values (7, '2026-03-01 08:00:00', '2026-03-01 16:00:00', 5)`,
    );
    await waitFor('the item on the MES', async () => {
      const [rows] = await dbs.mysql.query('select n from stg_item where id = 1');
      return (rows as unknown[]).length === 1;
    });
    await waitForWorkOrders(dbs, run);

    const forward = { direction: 'to-mes', mapping: 'items', operation: 'insert' };
    const back = { direction: 'to-crm', mapping: 'work_orders', operation: 'insert' };
    // The metrics follow the commit: the counter may lag the row by a moment.
    await waitFor(
      'both applied-change counters',
      async () =>
        (await sample(port, 'millrace_changes_total', forward)) === 1 &&
        (await sample(port, 'millrace_changes_total', back)) === 1,
      10_000,
    );
    // No mapping is counted under the other direction.
    const changes = (await samples(port)).filter((one) => one.name === 'millrace_changes_total');
    expect(
      changes.map((one) => one.labels).sort((a, b) => a.direction!.localeCompare(b.direction!)),
    ).toEqual([back, forward]);
    for (const direction of ['to-mes', 'to-crm']) {
      expect(await sample(port, 'millrace_up', { direction }), direction).toBe(1);
      expect(await sample(port, 'millrace_batch_changes_count', { direction })).toBeGreaterThan(0);
      expect(await sample(port, 'millrace_checkpoint_lsn', { direction })).toBeGreaterThan(0);
    }
    expect(
      await sample(port, 'millrace_dead_letters_total', {
        direction: 'to-crm',
        mapping: 'work_orders',
      }),
    ).toBe(0);
    expect(
      await sample(port, 'millrace_dead_letters_total', { direction: 'to-mes', mapping: 'items' }),
    ).toBe(0);

    // The return stream's progress line measures its lag in MES binlog bytes (every 10 s).
    await waitFor(
      'a progress line of the return stream',
      async () =>
        run!
          .output()
          .split('\n')
          .some((line) => line.includes('"direction":"to-crm"') && line.includes('"lagBytes"')),
      30_000,
    );
    const lag = await sample(port, 'millrace_lag_bytes', { direction: 'to-crm' });
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(await sample(port, 'millrace_lag_seconds', { direction: 'to-crm' })).toBeLessThan(60);
  }, 120_000);
});
