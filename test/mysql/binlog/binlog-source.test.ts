import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitEvent, SourceEvent } from '../../../src/pipeline/source-event.js';
import { type Capture, captureBinlog, currentPosition } from '../../support/binlog-capture.js';
import { createTestDatabases, type TestDatabases } from '../../support/databases.js';

let db: TestDatabases;

beforeAll(async () => {
  db = await createTestDatabases('binlog source');
  await db.mysql.query(
    'create table work_order (id int primary key, status varchar(20), qty decimal(12,4)) engine=InnoDB',
  );
  await db.mysql.query('create table other (id int primary key) engine=InnoDB');
});

afterAll(async () => {
  await db?.drop();
});

/** Events with the table-less ones reduced to their kind, for order assertions. */
function shape(events: readonly SourceEvent[]): unknown[] {
  return events.map((event) => {
    switch (event.kind) {
      case 'insert':
      case 'update':
      case 'delete':
        return { kind: event.kind, table: event.table, row: event.row, old: event.old };
      case 'relation':
        return { kind: 'relation', table: event.table, columns: event.columns.map((c) => c.name) };
      case 'truncate':
        return event;
      default:
        return event.kind;
    }
  });
}

const commits = (events: readonly SourceEvent[]) =>
  events.filter((event): event is CommitEvent => event.kind === 'commit');

async function capture(startLsn?: bigint, tables = ['work_order']): Promise<Capture> {
  return captureBinlog({
    mesUrl: db.mesUrl,
    database: db.mesName,
    tables,
    startLsn: startLsn ?? (await currentPosition(db.mysql)),
    control: db.mysql,
    idleCommitMs: 60_000,
  });
}

describe('BinlogSource change kinds', () => {
  it('hands on insert, update, delete, multi-row and multi-statement transactions; a rollback gives nothing', async () => {
    const stream = await capture();
    try {
      const m = db.mysql;
      await m.query("insert into work_order values (1, 'new', 1.5)");
      await m.query("update work_order set status = 'started', qty = 2 where id = 1");
      await m.query('delete from work_order where id = 1');
      await m.query("insert into work_order values (2, 'a', 0), (3, 'b', -0.0001)");
      await m.query('begin');
      await m.query("insert into work_order values (4, 'c', 10)");
      await m.query('insert into other values (4)');
      await m.query('update work_order set id = 5 where id = 4');
      await m.query('commit');
      await m.query('begin');
      await m.query("insert into work_order values (6, 'never', 1)");
      await m.query('rollback');
      await m.query('insert into other values (7)');
      await m.query("insert into work_order values (8, 'last', 1)");
      await stream.until((events) => commits(events).length === 6);
      const row = (id: number, status: string, qty: string) => ({ id: String(id), status, qty });
      expect(shape(stream.events)).toEqual([
        'begin',
        { kind: 'relation', table: 'work_order', columns: ['id', 'status', 'qty'] },
        { kind: 'insert', table: 'work_order', row: row(1, 'new', '1.5000'), old: null },
        'commit',
        'begin',
        {
          kind: 'update',
          table: 'work_order',
          row: row(1, 'started', '2.0000'),
          old: row(1, 'new', '1.5000'),
        },
        'commit',
        'begin',
        { kind: 'delete', table: 'work_order', row: null, old: row(1, 'started', '2.0000') },
        'commit',
        'begin',
        { kind: 'insert', table: 'work_order', row: row(2, 'a', '0.0000'), old: null },
        { kind: 'insert', table: 'work_order', row: row(3, 'b', '-0.0001'), old: null },
        'commit',
        'begin',
        { kind: 'insert', table: 'work_order', row: row(4, 'c', '10.0000'), old: null },
        {
          kind: 'update',
          table: 'work_order',
          row: row(5, 'c', '10.0000'),
          old: row(4, 'c', '10.0000'),
        },
        'commit',
        'begin',
        { kind: 'insert', table: 'work_order', row: row(8, 'last', '1.0000'), old: null },
        'commit',
      ]);
      // Positions grow, each transaction's start lies before its commit, and every commit names its GTID.
      let last = 0n;
      for (const event of stream.events) {
        if (event.kind === 'begin') {
          expect(event.finalLsn).toBeGreaterThanOrEqual(last);
          last = event.finalLsn;
        }
        if (event.kind === 'commit') {
          expect(event.endLsn).toBeGreaterThan(last);
          last = event.endLsn;
          expect(event.gtid).toMatch(/^\d+-\d+-\d+$/);
        }
      }
      expect(stream.failures).toEqual([]);
    } finally {
      await stream.stop();
    }
  });
});
