import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgClientConfig } from '../../src/postgres/pg-client.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  createReplication,
  dropReplication,
  endRun,
  type RunningCli,
  replicationEnv,
  startRun,
  stopRun,
  uniqueName,
  writeMappings,
} from '../support/replication.js';
import { markerCrm, markerMapping, markerMes, runCaughtUp } from '../support/run-marker.js';
import { createSchemas } from '../support/schemas.js';

const mappingYaml = `
- name: items
  source: public.item
  target: stg_item
  key: { item_id: id }
  columns: { label: label }
${markerMapping}`;

describe("the return path's own writes into the CRM", () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  const name = uniqueName('origin');
  // Replication origins are cluster-wide: a unique name, dropped whatever happens.
  const origin = `millrace_test_${name}`;
  let originCreated = false;

  beforeAll(async () => {
    dbs = await createTestDatabases('origin');
    await createSchemas(dbs, `create table item (id int primary key, label text); ${markerCrm}`, [
      'create table stg_item (item_id int primary key, label varchar(40))',
      markerMes,
    ]);
    await createReplication(dbs, name, ['item', 'marker']);
  });

  afterAll(async () => {
    await endRun(run);
    if (dbs) {
      if (originCreated) {
        await dbs.pg
          .query('select pg_replication_origin_drop($1)', [origin])
          .catch(() => undefined);
      }
      await dropReplication(dbs, name);
      await dbs.drop();
    }
  });

  it('never reach the MES, and the checkpoint moves past them', async () => {
    run = startRun([], replicationEnv(dbs, name, writeMappings({ 'm.yaml': mappingYaml })));
    await runCaughtUp(dbs, run, 60_000);

    // A session writing as the return path does: under a `millrace…` replication origin.
    const writer = new pg.Client(pgClientConfig({ url: dbs.crmUrl }));
    await writer.connect();
    try {
      await writer.query('select pg_replication_origin_create($1)', [origin]);
      originCreated = true;
      await writer.query('select pg_replication_origin_session_setup($1)', [origin]);
      await writer.query(`insert into item values (1, 'from the MES')`);
      await writer.query(`update item set label = 'from the MES again' where id = 1`);
      await writer.query('select pg_replication_origin_session_reset()');
    } finally {
      await writer.end();
    }
    const { rows } = await dbs.pg.query<{ lsn: string }>(
      'select pg_current_wal_lsn()::text as lsn',
    );
    const echoWrittenBefore = rows[0]!.lsn;
    // A normal write right after it arrives.
    await dbs.pg.query(`insert into item values (2, 'from the CRM')`);
    await runCaughtUp(dbs, run, 60_000);

    const [items] = await dbs.mysql.query('select item_id, label from stg_item order by item_id');
    expect(items).toEqual([{ item_id: 2, label: 'from the CRM' }]);
    expect((await stopRun(run)).code).toBe(0);
    const [checkpoint] = await dbs.mysql.query(
      'select lsn_text from millrace_checkpoints where slot_name = ?',
      [name],
    );
    const lsnText = (checkpoint as { lsn_text: string }[])[0]?.lsn_text;
    const past = await dbs.pg.query<{ past: string; acked: string }>(
      `select $1::pg_lsn > $2::pg_lsn as past, confirmed_flush_lsn >= $1::pg_lsn as acked
         from pg_replication_slots where slot_name = $3`,
      [lsnText, echoWrittenBefore, name],
    );
    expect(past.rows[0]).toEqual({ past: 't', acked: 't' });
  }, 180_000);
});
