import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  createReplication,
  dropReplication,
  endRun,
  type RunningCli,
  uniqueName,
  waitFor,
  writeMappings,
} from '../support/replication.js';
import {
  dropReturnOrigin,
  migrateBoth,
  migrationsDir,
  startReturnRun,
} from '../support/return-path.js';
import { markerCrm, markerMapping, markerMes, runCaughtUp } from '../support/run-marker.js';

/** `part` is mapped both ways; every write attempt on either side's copy is logged by a trigger. */
const crmSchema = `
  create table part (id int primary key, label text);
  create table part_writes (seq serial primary key, id int not null);
  create function log_part_write() returns trigger language plpgsql as $$
  begin insert into part_writes (id) values (new.id); return new; end $$;
  create trigger part_writes before insert or update on part
    for each row execute function log_part_write();
  create table mes_marker_copy (id int primary key, n int);
  ${markerCrm};`;

const mesSchema = [
  'create table stg_part (id int primary key, label varchar(60))',
  'create table stg_part_writes (seq int auto_increment primary key, id int not null)',
  'create trigger stg_part_ins before insert on stg_part for each row insert into stg_part_writes (id) values (new.id)',
  'create trigger stg_part_upd before update on stg_part for each row insert into stg_part_writes (id) values (new.id)',
  'create table mes_marker (id int primary key, n int)',
  markerMes,
];

const mappings = {
  'forward.yaml': `
- name: parts
  source: public.part
  target: stg_part
  key: { id: id }
  columns: { label: label }
${markerMapping}`,
  'back.yaml': `
name: parts_back
direction: to-crm
source: stg_part
target: public.part
key: { id: id }
columns: { label: label }
`,
  'back-marker.yaml': `
name: mes_marker
direction: to-crm
source: mes_marker
target: public.mes_marker_copy
key: { id: id }
columns: { n: n }
`,
};

describe('one table mapped both ways, both directions in one run', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  const stream = uniqueName('echo');
  let marker = 0;

  beforeAll(async () => {
    dbs = await createTestDatabases('return_echo');
    await migrateBoth(dbs, migrationsDir([]));
    await dbs.pg.query(crmSchema);
    for (const sql of mesSchema) await dbs.mysql.query(sql);
    await createReplication(dbs, stream, ['part', 'marker']);
  }, 120_000);

  afterAll(async () => {
    await endRun(run);
    if (dbs) {
      await dropReplication(dbs, stream);
      await dropReturnOrigin(dbs, stream);
      await dbs.drop();
    }
  });

  /** Everything committed on the MES so far has been applied on the CRM. */
  async function returnCaughtUp(): Promise<void> {
    marker++;
    const expected = marker;
    await dbs.mysql.query(
      'insert into mes_marker values (1, ?) on duplicate key update n = values(n)',
      [expected],
    );
    await waitFor('the MES marker on the CRM', async () => {
      const { rows } = await dbs.pg.query<{ n: string }>(
        'select n::text as n from mes_marker_copy where id = 1',
      );
      return rows[0]?.n === String(expected);
    });
  }

  /**
   * Waits past any second hop: the forward stream applied every CRM change, then the return
   * stream every MES change after that (an echo of it included), then the forward stream again.
   */
  async function settled(): Promise<void> {
    await runCaughtUp(dbs, run, 60_000);
    await returnCaughtUp();
    await runCaughtUp(dbs, run, 60_000);
  }

  async function writes(): Promise<{ crm: Record<string, number>; mes: Record<string, number> }> {
    const crm = await dbs.pg.query<{ id: string; n: string }>(
      'select id::text as id, count(*)::text as n from part_writes group by id',
    );
    const [mes] = await dbs.mysql.query(
      'select cast(id as char) as id, count(*) as n from stg_part_writes group by id',
    );
    return {
      crm: Object.fromEntries(crm.rows.map((row) => [row.id, Number(row.n)])),
      mes: Object.fromEntries((mes as { id: string; n: number }[]).map((r) => [r.id, Number(r.n)])),
    };
  }

  async function crmLabel(id: number): Promise<string | undefined> {
    const { rows } = await dbs.pg.query<{ label: string }>('select label from part where id = $1', [
      id,
    ]);
    return rows[0]?.label;
  }

  async function mesLabel(id: number): Promise<string | undefined> {
    const [rows] = await dbs.mysql.query('select label from stg_part where id = ?', [id]);
    return (rows as { label: string }[])[0]?.label;
  }

  it('settles each side after exactly one hop, and is quiet afterwards', async () => {
    run = await startReturnRun([], dbs, stream, writeMappings(mappings));
    await settled();

    // CRM -> MES: the MES takes it; the CRM's row is never written again.
    await dbs.pg.query(`insert into part values (1, 'from the CRM')`);
    await waitFor('the CRM insert on the MES', async () => (await mesLabel(1)) === 'from the CRM');
    await dbs.pg.query(`update part set label = 'CRM again' where id = 1`);
    await waitFor('the CRM update on the MES', async () => (await mesLabel(1)) === 'CRM again');
    const afterCrm = await writes();
    await settled();
    expect(await writes()).toEqual(afterCrm);
    expect(afterCrm.crm['1']).toBe(2); // the test's own insert and update, nothing else

    // MES -> CRM: the CRM takes it; the MES's row is never written again.
    await dbs.mysql.query(`update stg_part set label = 'from the MES' where id = 1`);
    await dbs.mysql.query(`insert into stg_part values (2, 'born on the MES')`);
    await waitFor('the MES changes on the CRM', async () => {
      return (await crmLabel(1)) === 'from the MES' && (await crmLabel(2)) === 'born on the MES';
    });
    const afterMes = await writes();
    await settled();
    expect(await writes()).toEqual(afterMes);
    expect(afterMes.mes['1']).toBe(afterCrm.mes['1']! + 1); // the test's own update only
    expect(afterMes.mes['2']).toBe(1);

    // Quiet: nothing is written on either side for a while.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await writes()).toEqual(afterMes);
    expect(await mesLabel(1)).toBe('from the MES');
    expect(await crmLabel(2)).toBe('born on the MES');
    expect(run.child.exitCode, run.output()).toBeNull();
  }, 180_000);
});
