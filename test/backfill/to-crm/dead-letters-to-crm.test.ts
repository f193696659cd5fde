import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../../support/databases.js';
import { replicationEnv, uniqueName } from '../../support/replication.js';
import {
  dropReturnOrigin,
  migrateWorkOrders,
  workOrderMappings,
  workOrdersBothSides,
} from '../../support/return-path.js';

async function letters(dbs: TestDatabases): Promise<{ id: string; error: string }[]> {
  const { rows } = await dbs.pg.query<{ id: string; error: string }>(
    "select id::text, error from millrace.dead_letters where mapping_name = 'work_orders' order by id",
  );
  return rows;
}

const narrow = 'alter table mes_work_order alter column work_center type varchar(8)';
const wide = 'alter table mes_work_order alter column work_center type varchar(16)';

describe('dead-letters list | retry | discard for a to-crm mapping (letters in the CRM)', () => {
  let dbs: TestDatabases;
  let env: NodeJS.ProcessEnv;
  const stream = uniqueName('rdl');

  beforeAll(async () => {
    dbs = await createTestDatabases('crm_dead_letters');
    await migrateWorkOrders(dbs);
    env = replicationEnv(dbs, stream, workOrderMappings());
    await dbs.mysql.query(
      `insert into work_order
         (crm_order_id, status, planned_start, planned_finish, qty_planned, qty_produced, resource_code)
       select seq, 'RELEASED', '2026-03-01 06:00:00', '2026-03-02 14:00:00', seq, 0,
              if(seq = 3, 'TOO-LONG-FOR-IT', concat('WC-', seq))
         from seq_1_to_5`,
    );
  }, 120_000);

  afterAll(async () => {
    if (dbs) {
      await dropReturnOrigin(dbs, stream);
      await dbs.drop();
    }
  });

  it('a too-narrow CRM column makes a dead letter; retry keeps it until the column is widened, then it is gone and the CRM equals the MES', async () => {
    await dbs.pg.query(narrow);
    const backfill = await runCli(['backfill', '--table', 'work_orders'], env);
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(backfill.stdout).toMatch(/work_orders\s+offline\s+4\s+1\s/);
    const recorded = await letters(dbs);
    expect(recorded).toHaveLength(1);

    const list = await runCli(['dead-letters', 'list', '--table', 'work_orders'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(`#crm:${recorded[0]!.id} `);
    expect(list.stdout).toContain('work_order_id=3');
    expect(list.stdout).toContain('work_orders: 1 dead letter\n');

    const refused = await runCli(['dead-letters', 'retry', '--table', 'work_orders'], env);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stdout).toContain('return path (CRM): 0 replayed and deleted, 1 failed again');
    const again = await letters(dbs);
    expect(again).toHaveLength(1);
    expect(again[0]!.id).not.toBe(recorded[0]!.id);

    await dbs.pg.query(wide);
    const retried = await runCli(['dead-letters', 'retry', '--table', 'work_orders'], env);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toContain('return path (CRM): 1 replayed and deleted, 0 failed again');
    expect(await letters(dbs)).toEqual([]);
    const sides = await workOrdersBothSides(dbs);
    expect(sides.crm).toHaveLength(5);
    expect(sides.crm).toEqual(sides.mes);
  }, 120_000);

  it('discard deletes the CRM letters of a to-crm mapping (with --yes)', async () => {
    await dbs.pg.query('delete from mes_work_order where work_order_id = 3');
    await dbs.pg.query(narrow);
    try {
      const backfill = await runCli(['backfill', '--table', 'work_orders', '--restart'], env);
      expect(backfill.code, backfill.stderr).toBe(0);
    } finally {
      await dbs.pg.query(wide);
    }
    expect(await letters(dbs)).toHaveLength(1);
    const unconfirmed = await runCli(['dead-letters', 'discard', '--table', 'work_orders'], env);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('1 dead letter would be deleted');
    const discarded = await runCli(
      ['dead-letters', 'discard', '--table', 'work_orders', '--yes'],
      env,
    );
    expect(discarded.code, discarded.stderr).toBe(0);
    expect(discarded.stdout).toContain('discarded 1 dead letter');
    expect(await letters(dbs)).toEqual([]);
  }, 120_000);
});

describe('dead-letters retry --id across both tables (letters of both directions, ids that clash)', () => {
  let dbs: TestDatabases;
  let env: NodeJS.ProcessEnv;
  const stream = uniqueName('rid');
  const items = `
name: items
source: public.item
target: stg_item
key: { item_id: id }
columns: { label: label }
`;

  async function mesLetters(): Promise<number[]> {
    const [rows] = await dbs.mysql.query('select id from millrace_dead_letters order by id');
    return (rows as { id: number }[]).map((row) => Number(row.id));
  }

  async function crmLetters(): Promise<number[]> {
    return (await letters(dbs)).map((letter) => Number(letter.id));
  }

  function millrace(...args: string[]): Promise<CliResult> {
    return runCli(args, env);
  }

  beforeAll(async () => {
    dbs = await createTestDatabases('crm_letter_ids');
    await migrateWorkOrders(dbs);
    await dbs.pg.query(
      `create table item (id integer primary key, label varchar(40) not null);
       insert into item values (1, 'short'), (2, 'much too long');`,
    );
    await dbs.mysql.query(
      'create table stg_item (item_id int primary key, label varchar(5) not null)',
    );
    await dbs.mysql.query(
      `insert into work_order
         (crm_order_id, status, planned_start, planned_finish, qty_planned, qty_produced, resource_code)
       values (1, 'RELEASED', '2026-03-01 06:00:00', '2026-03-02 14:00:00', 1, 0, 'WC-1'),
              (2, 'RELEASED', '2026-03-01 06:00:00', '2026-03-02 14:00:00', 2, 0, 'TOO-LONG-FOR-IT')`,
    );
    await dbs.pg.query(narrow);
    env = replicationEnv(dbs, stream, workOrderMappings({ 'items.yaml': items }), {
      MILLRACE_LOG_LEVEL: 'error',
    });
  }, 120_000);

  afterAll(async () => {
    if (dbs) {
      await dropReturnOrigin(dbs, stream);
      await dbs.drop();
    }
  });

  it('list prints the CRM letter as crm:N; a bare id both tables hold is refused; crm:N and a bare id held by one table need no --table', async () => {
    const backfill = await millrace('backfill');
    expect(backfill.code, backfill.stderr).toBe(0);
    const [mesId] = await mesLetters();
    expect(mesId).toBeDefined();
    expect(await crmLetters()).toHaveLength(1);
    // Both tables number their letters from 1: make the clash certain.
    await dbs.pg.query('update millrace.dead_letters set id = $1', [mesId]);

    const list = await millrace('dead-letters', 'list');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^#${mesId} \\S+ items backfill key item_id=2: `, 'm'));
    expect(list.stdout).toMatch(
      new RegExp(`^#crm:${mesId} \\S+ work_orders .*work_order_id=2`, 'm'),
    );
    const json = JSON.parse((await millrace('dead-letters', 'list', '--json')).stdout) as {
      letters: { ref: string; mapping: string }[];
    };
    expect(json.letters.map((letter) => [letter.mapping, letter.ref]).sort()).toEqual([
      ['items', `${mesId}`],
      ['work_orders', `crm:${mesId}`],
    ]);

    const ambiguous = await millrace('dead-letters', 'retry', '--id', String(mesId));
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr.trim()).toBe(
      `millrace: ambiguous --id ${mesId}: both the MES's millrace_dead_letters and the CRM's millrace.dead_letters hold a letter with that id; name the table, as in --id mes:${mesId} or --id crm:${mesId} (dead-letters list prints the CRM's as #crm:N)`,
    );
    expect(await mesLetters()).toEqual([mesId]);
    expect(await crmLetters()).toEqual([mesId]);

    await dbs.pg.query(wide);
    const crmOnly = await millrace('dead-letters', 'retry', '--id', `crm:${mesId}`);
    expect(crmOnly.code, crmOnly.stderr).toBe(0);
    expect(crmOnly.stdout.trim()).toBe(
      'return path (CRM): 1 replayed and deleted, 0 failed again (kept with the new error), 0 skipped (no such mapping or key)',
    );
    expect(await crmLetters()).toEqual([]);
    expect(await mesLetters()).toEqual([mesId]);
    const sides = await workOrdersBothSides(dbs);
    expect(sides.crm).toEqual(sides.mes);

    // Now only the MES's table holds the id: the bare id is that letter (still too long: kept).
    const bare = await millrace('dead-letters', 'retry', '--id', String(mesId));
    expect(bare.code, bare.stderr).toBe(1);
    expect(bare.stdout.trim()).toBe(
      '0 replayed and deleted, 1 failed again (kept with the new error), 0 skipped (no such mapping or key)',
    );
    const [again] = await mesLetters();
    await dbs.mysql.query('alter table stg_item modify label varchar(40) not null');
    const pinned = await millrace(
      'dead-letters',
      'retry',
      '--id',
      `mes:${again}`,
      '--id',
      '999999',
    );
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(pinned.stdout).toContain('no dead letter 999999 in the selection');
    expect(pinned.stdout).toContain('1 replayed and deleted, 0 failed again');
    expect(pinned.stdout).not.toContain('return path');
    expect(await mesLetters()).toEqual([]);
    const typo = await millrace('dead-letters', 'retry', '--id', 'cmr:4');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(
      "invalid --id: expected a letter id as dead-letters list prints it, like 42 or crm:42 (got 'cmr:4')",
    );
  }, 120_000);
});
