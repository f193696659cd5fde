import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pgClientConfig } from '../../src/postgres/pg-client.js';
import { runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  catchUp,
  endRun,
  killRun,
  type RunningCli,
  replicationEnv,
  startRun,
  stopRun,
  TestStreams,
  waitFor,
  waitForReplicating,
  writeMappings,
} from '../support/replication.js';
import { createSchemas } from '../support/schemas.js';
import {
  backfillRows,
  compare,
  countOf,
  crmSchema,
  insertItems,
  mappingsYaml,
  mesSchema,
  sourceTables,
  type Table,
} from './support.js';

/** Changes the rows being backfilled, as fast as it can, until stopped. */
class Workload {
  private stopped = false;
  private readonly done: Promise<void>;
  private client: pg.Client | undefined;
  transactions = 0;

  private failure: unknown;

  /** Changes ids 1..maxId; new rows get ids from `firstNewId` up. */
  constructor(url: string, maxId: number, firstNewId: number) {
    // A failing workload is reported by stop(), not as an unhandled rejection.
    this.done = this.loop(url, maxId, firstNewId).catch((error: unknown) => {
      this.failure = error;
    });
  }

  private async loop(url: string, maxId: number, firstNewId: number): Promise<void> {
    const client = new pg.Client(
      pgClientConfig({ url, applicationName: 'millrace-test-workload' }),
    );
    this.client = client;
    await client.connect();
    let next = firstNewId;
    const pick = () => 1 + Math.floor(Math.random() * maxId);
    try {
      while (!this.stopped) {
        const id = pick();
        switch (this.transactions % 7) {
          case 0:
            await client.query(
              `update item set name = 'w' || $1::bigint, qty = coalesce(qty, 0) + 1 where id = $1`,
              [id],
            );
            break;
          case 1:
            // In and out of the filter.
            await client.query(
              `update item set state = case state when 'draft' then 'sale' else 'draft' end where id = $1`,
              [id],
            );
            break;
          case 2:
            await client.query('delete from item where id = $1', [id]);
            break;
          case 3:
            await client.query(
              `insert into item (id, name, qty, price, state) values ($1, 'new ' || $1::bigint, 1, 2.5, 'sale')`,
              [next++],
            );
            break;
          case 4:
            // Several rows of one transaction, the same key touched twice.
            await client.query('begin');
            await client.query(
              `update item set price = price + 1 where id between $1 and $1 + 20`,
              [id],
            );
            await client.query(`update item set name = 'twice ' || id where id = $1`, [id]);
            await client.query('commit');
            break;
          case 5:
            // A primary key change.
            await client.query('update item set id = $2 where id = $1', [id, next++]);
            break;
          default:
            await client.query('begin');
            await client.query(`update item set qty = 42 where id = $1`, [id]);
            await client.query('rollback');
        }
        this.transactions++;
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    if (this.failure !== undefined) throw this.failure;
  }

  kill(): void {
    this.stopped = true;
    void this.client?.end().catch(() => undefined);
  }
}

describe('millrace backfill while run runs (online, in-stream)', () => {
  let dbs: TestDatabases;
  let mappingsDir: string;
  let run: RunningCli | undefined;
  let workload: Workload | undefined;
  // Empty tables on both sides, no backfill history, and a fresh slot and publication.
  const streams = new TestStreams({
    label: 'bf',
    sourceTables,
    targetTables: [
      'stg_item',
      'stg_line',
      'stg_empty',
      'stg_person',
      'stg_tag',
      'stg_odd',
      'stg_sync_marker',
      'millrace_backfills',
      'millrace_checkpoints',
      'millrace_dead_letters',
    ],
  });

  beforeAll(async () => {
    dbs = await createTestDatabases('backfill_online');
    await createSchemas(dbs, crmSchema, mesSchema);
    mappingsDir = writeMappings({ 'mappings.yaml': mappingsYaml });
  });

  afterEach(async () => {
    workload?.kill();
    workload = undefined;
    await endRun(run);
    run = undefined;
    await streams.dropAll(dbs);
  });

  afterAll(async () => {
    workload?.kill();
    killRun(run);
    await dbs?.drop();
  });

  const freshStream = () => streams.fresh(dbs);

  /** Waits until everything committed on the CRM so far is applied on the MES. */
  const caughtUp = (timeoutMs = 90_000) => catchUp(dbs, timeoutMs);

  async function expectEqual(table: Table): Promise<void> {
    const { expected, actual } = await compare(dbs, table);
    expect(actual.length, table).toBe(expected.length);
    expect(actual, table).toEqual(expected);
  }

  it('copies in-stream while a workload changes the same rows, ending exactly equal', async () => {
    // Rows that exist before the slot: only a backfill can bring them over.
    const name = await freshStream();
    await insertItems(dbs, 1, 8_000);
    const env = replicationEnv(dbs, name, mappingsDir);
    run = startRun(['--heartbeat', '1'], env);
    await waitForReplicating(run);
    workload = new Workload(dbs.crmUrl, 8_000, 100_000);

    const result = await runCli(['backfill', '--table', 'items', '--chunk-size', '400'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /a replicator is running on this slot: it performs the backfill in-stream/,
    );
    expect(result.stdout).toMatch(/^items\s+online\s+\d+/m);

    await workload.stop();
    expect(workload.transactions).toBeGreaterThan(20);
    workload = undefined;
    await caughtUp();
    await expectEqual('items');
    const row = (await backfillRows(dbs)).get('items')!;
    expect(row).toMatchObject({ status: 'done', mode: 'online' });
    expect(Number(row.rows_read)).toBeGreaterThanOrEqual(7_000);
    expect(run.output()).toMatch(/"component":"backfill".*"msg":"online backfill done"/);

    // Re-backfill while running: rows only the target has are removed in-stream too.
    await dbs.mysql.query(
      `insert into stg_item (item_id, name, state) values (900001, 'ghost', 'PLANNED'), (900002, 'ghost', 'PLANNED')`,
    );
    await dbs.pg.query(`update item set name = 'changed while idle' where id between 10 and 20`);
    workload = new Workload(dbs.crmUrl, 8_000, 200_000);
    const again = await runCli(['backfill', '--table', 'stg_item', '--chunk-size', '1000'], env);
    expect(again.code, again.stderr).toBe(0);
    await workload.stop();
    workload = undefined;
    await caughtUp();
    await expectEqual('items');
    const second = (await backfillRows(dbs)).get('items')!;
    expect(second).toMatchObject({ status: 'done', mode: 'online', phase: 'prune', prune: 1 });
    expect(Number(second.rows_removed)).toBeGreaterThanOrEqual(2);

    const stopped = await stopRun(run);
    run = undefined;
    expect(stopped.code).toBe(0);
  });

  it('run --backfill loads every mapping in-stream, and a restart copies nothing again', async () => {
    const name = await freshStream();
    await insertItems(dbs, 1, 3_000);
    await dbs.pg.query(`insert into line
      select o, l, 'SKU-' || o || '-' || l, case when l = 3 then 0 else l + 0.5 end
        from generate_series(1, 200) o, generate_series(1, 5) l`);
    await dbs.pg.query(
      `insert into person select g, 'Person ' || g, g % 3 <> 0 from generate_series(1, 300) g`,
    );
    await dbs.pg.query(`insert into tag values ('x', 'ex'), ('Y', 'why'), ('z', null)`);
    // A leftover of an earlier load: removed, since the initial load found the table non-empty.
    await dbs.mysql.query(`insert into stg_line values (9999, 1, 'ghost', 1)`);
    const env = replicationEnv(dbs, name, mappingsDir);
    run = startRun(['--heartbeat', '1', '--backfill'], env);
    await waitForReplicating(run);
    workload = new Workload(dbs.crmUrl, 3_000, 100_000);
    await waitFor(
      'every initial backfill to finish',
      async () => {
        const rows = await backfillRows(dbs);
        return rows.size === 7 && [...rows.values()].every((row) => row.status === 'done');
      },
      240_000,
    );
    await workload.stop();
    workload = undefined;
    await caughtUp();
    for (const table of ['items', 'lines', 'people', 'tags'] as const) await expectEqual(table);
    expect(await countOf(dbs, 'stg_line')).toBe(800);
    const first = await backfillRows(dbs);
    for (const row of first.values())
      expect(row, row.mapping_name).toMatchObject({ mode: 'online', status: 'done' });
    expect(await stopRun(run)).toMatchObject({ code: 0 });

    // Restarted with --backfill (as a service unit would be): every mapping is done already.
    run = startRun(['--heartbeat', '1', '--backfill'], env);
    await waitForReplicating(run);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const later = await backfillRows(dbs);
    for (const [mapping, row] of later) {
      expect(row.run_id, mapping).toBe(first.get(mapping)!.run_id);
      expect(row.status, mapping).toBe('done');
    }
    expect(await stopRun(run)).toMatchObject({ code: 0 });
    run = undefined;
  });
});
