import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log/logger.js';
import { connectSource, type PgClient } from '../../../src/postgres/pg-client.js';
import { loadCrmCheckpoint } from '../../../src/postgres/sink/crm-checkpoint-store.js';
import { CrmSink } from '../../../src/postgres/sink/crm-sink.js';
import { migrateCrm } from '../../../src/postgres/sink/migrate-crm.js';
import type {
  DeadLetter,
  Origin,
  RowWrite,
  TableWrites,
  WriteChunk,
} from '../../../src/writes/write-chunk.js';
import { createTestDatabases, type TestDatabases } from '../../support/databases.js';
import { waitFor } from '../../support/replication.js';
import { proxyFor, type TcpProxy, throughProxy } from '../../support/tcp-proxy.js';

/** The user's CRM staging migration: an enum, numerics, timestamps, bytea, a composite key, odd names. */
const stagingMigration = `
export async function up(knex) {
  await knex.raw('create schema crm_stage');
  await knex.raw("create type crm_stage.wo_status as enum ('planned', 'running', 'done')");
  await knex.raw(\`create table crm_stage.work_order (
    id bigint primary key, status crm_stage.wo_status, qty numeric(8,2),
    planned_start timestamptz, note text, payload bytea,
    is_deleted boolean not null default false, deleted_at timestamptz)\`);
  await knex.raw(\`create table crm_stage.booking (
    order_id bigint, resource text, hours numeric(6,1), owner text not null,
    primary key (order_id, resource))\`);
  await knex.raw('create table crm_stage."Odd ""Table""" ("select" int primary key, "Value" text)');
  await knex.raw('create table crm_stage.wide (id int primary key, a text, b text)');
}
export async function down(knex) {
  await knex.raw('drop schema crm_stage cascade');
}
`;

const logger = silentLogger();
const tag = randomBytes(3).toString('hex');
const describePosition = (lsn: bigint) => ({
  file: `mariadb-bin.${String(lsn >> 32n).padStart(6, '0')}`,
  position: lsn & 0xffffffffn,
});
const at = (file: number, offset: number) => (BigInt(file) << 32n) | BigInt(offset);

function origin(lsn: bigint, operation: Origin['operation'] = 'insert'): Origin {
  return { mapping: 'work_orders', lsn, operation, sourceValues: { id: 'x' } };
}

function table(
  name: string,
  keyColumns: readonly string[],
  writes: Partial<Pick<TableWrites, 'deletes' | 'updates' | 'upserts' | 'copies' | 'owner'>>,
): TableWrites {
  return { table: name, keyColumns, deletes: [], updates: [], upserts: [], ...writes };
}

function upsert(row: Record<string, string | Buffer | null>, lsn = at(3, 10)): RowWrite {
  return { key: [row.id as string], row, origin: origin(lsn) };
}

function chunk(tables: TableWrites[], extra: Partial<WriteChunk> = {}): WriteChunk {
  return { resets: [], tables, deadLetters: [], ...extra };
}

let dbs: TestDatabases;
let migrationsDir: string;
const clients: PgClient[] = [];
const sinks: CrmSink[] = [];
const streams: string[] = [];

async function openSink(
  label: string,
  options: { url?: string; journalBytes?: number; letters?: DeadLetter[] } = {},
): Promise<CrmSink> {
  const client = await connectSource({ url: options.url ?? dbs.crmUrl, timeoutMs: 10_000, logger });
  clients.push(client);
  const stream = `crmsink_${tag}_${label}`;
  if (!streams.includes(stream)) streams.push(stream);
  const sink = new CrmSink({
    client,
    logger,
    stream,
    onBadRow: 'deadletter',
    describePosition,
    onDeadLetter: (letter) => options.letters?.push(letter),
    ...(options.journalBytes === undefined ? {} : { journalBytes: options.journalBytes }),
  });
  sinks.push(sink);
  return sink;
}

async function rows(sql: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  return (await dbs.pg.query(sql, values)).rows as Record<string, unknown>[];
}

async function checkpointOf(stream: string) {
  return loadCrmCheckpoint(dbs.pg as unknown as PgClient, `crmsink_${tag}_${stream}`);
}

beforeAll(async () => {
  dbs = await createTestDatabases('crm_sink');
  migrationsDir = mkdtempSync(path.join(tmpdir(), 'millrace-crm-migrations-'));
  writeFileSync(path.join(migrationsDir, '20260101000001_crm_stage.mjs'), stagingMigration);
  await migrateCrm({ sourceUrl: dbs.crmUrl, migrationsDir, connectTimeoutMs: 10_000, logger });
});

afterAll(async () => {
  for (const sink of sinks) await sink.release().catch(() => undefined);
  for (const client of clients) await client.end().catch(() => undefined);
  // Replication origins are cluster-wide: the database's drop does not take them.
  if (dbs) {
    await waitFor('the test origins to be dropped', async () => {
      try {
        await dbs.pg.query(
          'select pg_replication_origin_drop(roname) from pg_replication_origin where roname = any($1)',
          [streams.map((stream) => `millrace_${stream}`)],
        );
        return true;
      } catch {
        return false; // still held by a session the server has not ended yet
      }
    });
  }
  await dbs?.drop();
});

describe('migrateCrm', () => {
  it('creates the millrace schema, its control tables and the staging tables once; a second run applies nothing', async () => {
    const again = await migrateCrm({
      sourceUrl: dbs.crmUrl,
      migrationsDir,
      connectTimeoutMs: 10_000,
      logger,
    });
    expect(again).toEqual({
      schemaCreated: false,
      control: [],
      staging: [],
      stagingDirFound: true,
    });
    const columns = await rows(
      `select table_name, column_name, data_type, is_nullable from information_schema.columns
        where table_schema = 'millrace' and table_name in ('checkpoints', 'dead_letters')
        order by table_name, ordinal_position`,
    );
    expect(
      columns.map((c) => `${c.table_name}.${c.column_name} ${c.data_type} ${c.is_nullable}`),
    ).toEqual([
      'checkpoints.stream text NO',
      'checkpoints.lsn bigint NO',
      'checkpoints.binlog_file text YES',
      'checkpoints.binlog_position bigint YES',
      'checkpoints.gtid text YES',
      'checkpoints.updated_at timestamp with time zone NO',
      'dead_letters.id bigint NO',
      'dead_letters.mapping_name text NO',
      'dead_letters.lsn bigint YES',
      'dead_letters.lsn_text text YES',
      'dead_letters.operation text NO',
      'dead_letters.key_values text NO',
      'dead_letters.source_values text NO',
      'dead_letters.error text NO',
      'dead_letters.created_at timestamp with time zone NO',
    ]);
    const history = await rows(
      `select table_name from information_schema.tables where table_schema = 'millrace' order by 1`,
    );
    expect(history.map((row) => row.table_name)).toEqual([
      'backfill_progress',
      'checkpoints',
      'control_migrations',
      'control_migrations_lock',
      'dead_letters',
      'staging_migrations',
      'staging_migrations_lock',
    ]);
    expect(await rows('select name from millrace.staging_migrations')).toEqual([
      { name: '20260101000001_crm_stage.mjs' },
    ]);
  });

  it('tells to run migrate when the control tables are missing', async () => {
    await expect(
      loadCrmCheckpoint(dbs.pg as unknown as PgClient, 'nothing'),
    ).resolves.toMatchObject({ lsn: 0n });
    await dbs.pg.query('alter table millrace.checkpoints rename to checkpoints_away');
    try {
      await expect(
        loadCrmCheckpoint(dbs.pg as unknown as PgClient, 'nothing'),
      ).rejects.toMatchObject({
        code: 'CONTROL_TABLES_MISSING',
      });
    } finally {
      await dbs.pg.query('alter table millrace.checkpoints_away rename to checkpoints');
    }
  });
});

const workOrders = 'crm_stage.work_order';
const bookings = 'crm_stage.booking';
const odd = 'crm_stage.Odd "Table"';

async function workOrderRows(): Promise<Record<string, unknown>[]> {
  return rows(
    `select id, status, qty, planned_start, note, payload, is_deleted, deleted_at
       from crm_stage.work_order where id < 20 order by id`,
  );
}

describe('CrmSink on PostgreSQL', () => {
  it('applies every change kind, each batch in one transaction with its checkpoint', async () => {
    const sink = await openSink('kinds');
    const full = (id: string, note: string) =>
      upsert({
        id,
        status: 'planned',
        qty: '12.34',
        planned_start: '2026-01-02 03:04:05.123456+00',
        note,
        payload: Buffer.from([0, 1, 254, 255]),
        is_deleted: 'f',
      });
    const booking = (order: string, resource: string, hours: string) => ({
      key: [order, resource],
      row: { order_id: order, resource, hours, owner: 'mes' },
      origin: origin(at(3, 10)),
    });
    await sink.apply(
      chunk([
        table(workOrders, ['id'], {
          upserts: [full('1', 'one'), full('2', 'two'), full('3', 'three')],
        }),
        table(bookings, ['order_id', 'resource'], {
          upserts: [booking('1', 'lathe', '1.5'), booking('1', 'mill', '2.0')],
        }),
        table(odd, ['select'], {
          upserts: [{ key: ['1'], row: { select: '1', Value: 'x' }, origin: origin(at(3, 10)) }],
        }),
      ]),
    );
    await sink.commit({
      checkpoint: { slot: 'crmsink_' + tag + '_kinds', lsn: at(3, 100), gtid: '0-1-5' },
    });
    expect(await workOrderRows()).toEqual(
      ['1', '2', '3'].map((id) => ({
        id,
        status: 'planned',
        qty: '12.34',
        planned_start: '2026-01-02 03:04:05.123456+00',
        note: { 1: 'one', 2: 'two', 3: 'three' }[id],
        payload: '\\x0001feff',
        is_deleted: 'f',
        deleted_at: null,
      })),
    );
    expect(await checkpointOf('kinds')).toMatchObject({
      lsn: at(3, 100),
      binlogFile: 'mariadb-bin.000003',
      binlogPosition: 100n,
      gtid: '0-1-5',
    });

    // A partial row (note and payload absent: untouched), a delete, a soft delete, an owner's
    // delete of a composite key, an update of a table whose names need quoting.
    await dbs.pg.query(`insert into crm_stage.booking values (2, 'mill', 9, 'other')`);
    await sink.apply(
      chunk([
        table(workOrders, ['id'], {
          upserts: [upsert({ id: '1', qty: '99.00', status: 'running' })],
          deletes: [{ key: ['2'], origin: origin(at(3, 200), 'delete') }],
          updates: [
            {
              key: ['3'],
              row: { is_deleted: 't', deleted_at: '2026-02-03 04:05:06+00' },
              origin: origin(at(3, 200), 'delete'),
            },
          ],
        }),
        table(bookings, ['order_id', 'resource'], {
          deletes: [
            { key: ['1', 'mill'], origin: origin(at(3, 200), 'delete') },
            { key: ['2', 'mill'], origin: origin(at(3, 200), 'delete') },
          ],
          owner: { column: 'owner', value: 'mes' },
        }),
        table(odd, ['select'], {
          upserts: [{ key: ['1'], row: { select: '1', Value: 'y' }, origin: origin(at(3, 200)) }],
        }),
      ]),
    );
    await sink.commit({
      checkpoint: { slot: `crmsink_${tag}_kinds`, lsn: at(3, 300), gtid: '0-1-6' },
    });
    expect(await workOrderRows()).toMatchObject([
      { id: '1', status: 'running', qty: '99.00', note: 'one', payload: '\\x0001feff' },
      {
        id: '3',
        status: 'planned',
        note: 'three',
        is_deleted: 't',
        deleted_at: '2026-02-03 04:05:06+00',
      },
    ]);
    expect(await rows('select order_id, resource from crm_stage.booking order by 1, 2')).toEqual([
      { order_id: '1', resource: 'lathe' },
      { order_id: '2', resource: 'mill' }, // another owner's row stays
    ]);
    expect(await rows('select * from crm_stage."Odd ""Table"""')).toEqual([
      { select: '1', Value: 'y' },
    ]);

    // A key change whose new row lacks the unchanged note and payload: copied from the old key.
    await sink.apply(
      chunk([
        table(workOrders, ['id'], {
          copies: [
            {
              from: ['1'],
              to: ['10'],
              columns: ['note', 'payload'],
              origin: origin(at(4, 10), 'update'),
            },
          ],
          deletes: [{ key: ['1'], origin: origin(at(4, 10), 'update') }],
          upserts: [upsert({ id: '10', status: 'done', qty: '1.00' }, at(4, 10))],
        }),
      ]),
    );
    await sink.commit({ checkpoint: { slot: `crmsink_${tag}_kinds`, lsn: at(4, 50) } });
    expect(
      (await workOrderRows()).map((row) => [row.id, row.status, row.note, row.payload]),
    ).toEqual([
      ['3', 'planned', 'three', '\\x0001feff'],
      ['10', 'done', 'one', '\\x0001feff'],
    ]);
    // A checkpoint with no GTID (a keepalive's) keeps the GTID of the last one applied.
    expect(await checkpointOf('kinds')).toMatchObject({
      lsn: at(4, 50),
      binlogFile: 'mariadb-bin.000004',
      gtid: '0-1-6',
    });

    // Resets: a soft one on every row, and a delete of one owner's rows only.
    await sink.apply({
      resets: [
        { table: workOrders, set: { is_deleted: 't' }, origin: origin(at(4, 60), 'truncate') },
        {
          table: bookings,
          owner: { column: 'owner', value: 'mes' },
          origin: origin(at(4, 60), 'truncate'),
        },
      ],
      tables: [],
      deadLetters: [],
    });
    await sink.commit({ checkpoint: { slot: `crmsink_${tag}_kinds`, lsn: at(4, 70) } });
    expect((await workOrderRows()).map((row) => row.is_deleted)).toEqual(['t', 't']);
    expect(await rows('select order_id, owner from crm_stage.booking')).toEqual([
      { order_id: '2', owner: 'other' },
    ]);
    await sink.apply({
      resets: [{ table: workOrders, origin: origin(at(4, 80), 'truncate') }],
      tables: [],
      deadLetters: [],
    });
    await sink.commit({ checkpoint: { slot: `crmsink_${tag}_kinds`, lsn: at(4, 90) } });
    expect(await workOrderRows()).toEqual([]);
  });
});

describe('CrmSink dead letters', () => {
  const wo = (id: string, status: string, qty: string) => upsert({ id, status, qty }, at(5, 10));
  const mapperLetter: DeadLetter = {
    origin: origin(at(5, 10)),
    key: { id: '29' },
    error: 'VALUE_OUT_OF_RANGE: too big',
  };

  for (const regime of ['journaled', 'under savepoints'] as const) {
    it(`records the rows PostgreSQL refuses (a bad enum label, a numeric out of range) and applies the rest (${regime})`, async () => {
      const base = regime === 'journaled' ? 20 : 40;
      const id = (n: number) => String(base + n);
      const letters: DeadLetter[] = [];
      const sink = await openSink(`letters_${base}`, {
        letters,
        ...(regime === 'journaled' ? {} : { journalBytes: 1 }),
      });
      // The first chunk succeeds; the second, in the same transaction, holds the bad rows.
      await sink.apply(
        chunk([table(workOrders, ['id'], { upserts: [wo(id(0), 'planned', '1.00')] })]),
      );
      const stats = await sink.apply(
        chunk(
          [
            table(workOrders, ['id'], {
              upserts: [
                wo(id(1), 'exploded', '1.00'),
                wo(id(2), 'running', '2.00'),
                wo(id(3), 'done', '1234567.89'),
                wo(id(4), 'done', '4.00'),
              ],
            }),
          ],
          { deadLetters: [mapperLetter] },
        ),
      );
      await sink.commit({ checkpoint: { slot: `crmsink_${tag}_letters_${base}`, lsn: at(5, 99) } });
      expect(stats).toMatchObject({ upserted: 4, deadLetters: 3 });
      const applied = await rows(
        'select id, status, qty from crm_stage.work_order where id between $1 and $2 order by id',
        [base, base + 9],
      );
      expect(applied).toEqual([
        { id: id(0), status: 'planned', qty: '1.00' },
        { id: id(2), status: 'running', qty: '2.00' },
        { id: id(4), status: 'done', qty: '4.00' },
      ]);
      const stored = await rows(
        `select mapping_name, lsn::text, lsn_text, operation, key_values, source_values, error
           from millrace.dead_letters where key_values in ($1, $2, '{"id":"29"}') and lsn = $3 order by id`,
        [`{"id":"${id(1)}"}`, `{"id":"${id(3)}"}`, String(at(5, 10))],
      );
      expect(stored.slice(-3)).toMatchObject([
        { key_values: '{"id":"29"}', error: 'VALUE_OUT_OF_RANGE: too big' },
        {
          mapping_name: 'work_orders',
          lsn: String(at(5, 10)),
          lsn_text: 'mariadb-bin.000005:10',
          operation: 'insert',
          key_values: `{"id":"${id(1)}"}`,
          source_values: '{"id":"x"}',
          error: expect.stringContaining('invalid input value for enum'),
        },
        {
          key_values: `{"id":"${id(3)}"}`,
          error: expect.stringContaining('numeric field overflow'),
        },
      ]);
      expect(letters.map((letter) => letter.key)).toEqual([
        { id: '29' },
        { id: id(1) },
        { id: id(3) },
      ]);
      expect((await checkpointOf(`letters_${base}`)).lsn).toBe(at(5, 99));
    });
  }
});

describe('CrmSink statement bounds', () => {
  it('splits writes past 65,535 parameters into several statements', async () => {
    const sink = await openSink('wide');
    const count = 70_000;
    const ids = Array.from({ length: count }, (_, index) => String(index + 1));
    const write = (id: string): RowWrite => ({
      key: [id],
      row: { id, a: `a${id}`, b: `b${id}` },
      origin: origin(at(6, 1)),
    });
    await sink.apply(chunk([table('crm_stage.wide', ['id'], { upserts: ids.map(write) })]));
    await sink.commit({ checkpoint: { slot: `crmsink_${tag}_wide`, lsn: at(6, 2) } });
    expect(
      await rows(
        'select count(*)::int as n, sum(length(a) + length(b))::int as bytes from crm_stage.wide',
      ),
    ).toEqual([
      { n: String(count), bytes: String(ids.reduce((sum, id) => sum + 2 * (id.length + 1), 0)) },
    ]);
    const updates = ids.map((id) => ({ key: [id], row: { b: null }, origin: origin(at(6, 3)) }));
    await sink.apply(chunk([table('crm_stage.wide', ['id'], { updates })]));
    await sink.commit({ checkpoint: { slot: `crmsink_${tag}_wide`, lsn: at(6, 4) } });
    expect(await rows('select count(*)::int as n from crm_stage.wide where b is null')).toEqual([
      { n: String(count) },
    ]);
    const deletes = ids.map((id) => ({ key: [id], origin: origin(at(6, 5), 'delete') }));
    await sink.apply(chunk([table('crm_stage.wide', ['id'], { deletes })]));
    await sink.commit({ checkpoint: { slot: `crmsink_${tag}_wide`, lsn: at(6, 6) } });
    expect(await rows('select count(*)::int as n from crm_stage.wide')).toEqual([{ n: '0' }]);
  }, 120_000);
});

describe('CrmSink and a lost connection', () => {
  let proxy: TcpProxy | undefined;
  afterAll(async () => {
    await proxy?.close();
  });

  it('loses the whole batch and keeps the old checkpoint when the connection dies mid-batch; a new session resumes there', async () => {
    proxy = await proxyFor(dbs.crmUrl);
    const stream = `crmsink_${tag}_cut`;
    const first = await openSink('cut', { url: throughProxy(dbs.crmUrl, proxy) });
    const row = (id: string, note: string) => upsert({ id, note }, at(7, 1));
    await first.apply(chunk([table(workOrders, ['id'], { upserts: [row('60', 'before')] })]));
    await first.commit({ checkpoint: { slot: stream, lsn: at(7, 100), gtid: '0-1-70' } });
    const batch = chunk([
      table(workOrders, ['id'], { upserts: [row('60', 'after'), row('61', 'new')] }),
    ]);
    await first.apply(batch);
    proxy.cut();
    await expect(first.commit({ checkpoint: { slot: stream, lsn: at(7, 200) } })).rejects.toThrow();
    await first.rollback();
    const visible = () =>
      rows('select id, note from crm_stage.work_order where id in (60, 61) order by id');
    expect(await visible()).toEqual([{ id: '60', note: 'before' }]);
    const resumed = await checkpointOf('cut');
    expect(resumed).toMatchObject({ lsn: at(7, 100), gtid: '0-1-70' });
    // The restarted session: the server may not have ended the cut one yet, which still holds the
    // stream's replication origin (SQLSTATE 55006, an outage the replicator waits out).
    let second: CrmSink | undefined;
    await waitFor('the origin to be free', async () => {
      second = await openSink('cut');
      try {
        await second.apply(batch);
        return true;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006') throw error;
        return false;
      }
    });
    await second!.commit({ checkpoint: { slot: stream, lsn: at(7, 200) } });
    expect(await visible()).toEqual([
      { id: '60', note: 'after' },
      { id: '61', note: 'new' },
    ]);
    expect((await checkpointOf('cut')).lsn).toBe(at(7, 200));
  });
});

/** pgoutput messages of each transaction a slot holds (protocol version 1), by message byte. */
function transactions(changes: readonly { data: string }[]): Buffer[][] {
  const grouped: Buffer[][] = [];
  for (const { data } of changes) {
    const message = Buffer.from(data.slice(2), 'hex');
    const kind = String.fromCharCode(message[0]!);
    if (kind === 'B') grouped.push([]);
    grouped.at(-1)?.push(message);
  }
  return grouped;
}

/** The origin name an Origin message ('O', commit LSN, name) carries, if any. */
function originOf(messages: readonly Buffer[]): string | undefined {
  const message = messages.find((candidate) => candidate[0] === 'O'.charCodeAt(0));
  return message?.subarray(9, message.indexOf(0, 9)).toString('utf8');
}

describe('CrmSink replication origin', () => {
  it('tags every transaction it commits with the origin millrace_<stream>, which pgoutput sends; other writers are untagged', async () => {
    const stream = `crmsink_${tag}_origin`;
    const slot = `crm_sink_origin_${tag}`;
    await dbs.pg.query('create publication crm_sink_origin for table crm_stage.work_order');
    // Temporary: it goes with this session even if the test fails before the drop below.
    await dbs.pg.query(`select pg_create_logical_replication_slot($1, 'pgoutput', true)`, [slot]);
    try {
      const sink = await openSink('origin');
      await sink.apply(
        chunk([
          table(workOrders, ['id'], { upserts: [upsert({ id: '80', note: 'from the MES' })] }),
        ]),
      );
      await sink.commit({ checkpoint: { slot: stream, lsn: at(8, 1) } });
      await dbs.pg.query(
        `insert into crm_stage.work_order (id, note) values (81, 'by a CRM user')`,
      );
      const { rows: changes } = await dbs.pg.query<{ data: string }>(
        `select data from pg_logical_slot_peek_binary_changes($1, null, null,
           'proto_version', '1', 'publication_names', 'crm_sink_origin')`,
        [slot],
      );
      const withRows = transactions(changes).filter((messages) =>
        messages.some((message) => message[0] === 'I'.charCodeAt(0)),
      );
      expect(withRows.map(originOf)).toEqual([`millrace_${stream}`, undefined]);

      // Released, the session lets go of the origin: another session may take it at once.
      await sink.release();
      const next = await openSink('origin');
      await next.apply(chunk([table(workOrders, ['id'], { upserts: [upsert({ id: '82' })] })]));
      // While one session holds it, no other can: two writers of one stream cannot both commit.
      const rival = await openSink('origin');
      await expect(rival.apply(chunk([]))).rejects.toMatchObject({ code: '55006' });
      await next.rollback();
    } finally {
      await dbs.pg.query('select pg_drop_replication_slot($1)', [slot]).catch(() => undefined);
      await dbs.pg.query('drop publication if exists crm_sink_origin');
    }
  });
});
