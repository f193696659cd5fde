import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log/logger.js';
import { listBinlogFiles } from '../../../src/mysql/binlog/binlog-files.js';
import { encodeBinlogPosition } from '../../../src/mysql/binlog/binlog-position.js';
import { connectTarget } from '../../../src/mysql/mysql-client.js';
import { TargetWriter } from '../../../src/mysql/writer.js';
import type { CommitEvent, SourceEvent } from '../../../src/pipeline/source-event.js';
import { type Capture, captureBinlog, currentPosition } from '../../support/binlog-capture.js';
import { createTestDatabases, type TestDatabases } from '../../support/databases.js';
import { connectMarkedSession } from '../../support/return-path.js';
import { proxyFor, throughProxy } from '../../support/tcp-proxy.js';

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

/**
 * Events with the table-less ones reduced to their kind, for order assertions; keepalives left
 * out (a test elsewhere may start a new binlog file at any time).
 */
function shape(events: readonly SourceEvent[]): unknown[] {
  return events
    .flatMap((event) => (event.kind === 'keepalive' ? [] : [event]))
    .map((event) => {
      switch (event.kind) {
        case 'insert':
        case 'update':
        case 'delete':
          return { kind: event.kind, table: event.table, row: event.row, old: event.old };
        case 'relation':
          return {
            kind: 'relation',
            table: event.table,
            columns: event.columns.map((c) => c.name),
          };
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
    keepaliveMs: 60_000,
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

const insertedIds = (events: readonly SourceEvent[]) =>
  events.flatMap((event) => (event.kind === 'insert' ? [Number(event.row?.id)] : []));

describe('BinlogSource positions', () => {
  it('encodes positions across a rotation, and a restart from a commit resumes exactly after it', async () => {
    const stream = await capture();
    let checkpoints: bigint[];
    try {
      for (let id = 100; id < 110; id++) {
        await db.mysql.query(`insert into work_order values (${id}, 'r', 1)`);
        if (id === 105) await db.mysql.query('flush binary logs');
      }
      await stream.until((events) => commits(events).length === 10);
      checkpoints = commits(stream.events).map((commit) => commit.endLsn);
      const files = checkpoints.map((lsn) => Number(lsn >> 32n));
      expect(files[6]).toBeGreaterThan(files[5] as number);
      expect(insertedIds(stream.events)).toEqual([
        100, 101, 102, 103, 104, 105, 106, 107, 108, 109,
      ]);
    } finally {
      await stream.stop();
    }
    // From the commit of 103 (mid-file), of 105 (the last before the rotation), of 106 (the first after).
    for (const [at, expected] of [
      [3, [104, 105, 106, 107, 108, 109]],
      [5, [106, 107, 108, 109]],
      [6, [107, 108, 109]],
    ] as const) {
      const checkpoint = checkpoints[at] as bigint;
      const resumed = await capture(checkpoint);
      try {
        await resumed.until((events) => insertedIds(events).length === expected.length);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(insertedIds(resumed.events)).toEqual(expected);
        const begins = resumed.events.filter((event) => event.kind === 'begin');
        for (const begin of begins) expect(begin.finalLsn).toBeGreaterThanOrEqual(checkpoint);
        expect(commits(resumed.events).map((commit) => commit.endLsn)).toEqual(
          checkpoints.slice(at + 1),
        );
      } finally {
        await resumed.stop();
      }
    }
  });

  it('refuses a checkpoint in a purged binlog file, and one the server never wrote, with the fix', async () => {
    const files = await listBinlogFiles(db.mysql);
    const oldest = files[0]?.index as number;
    const newest = files.at(-1)?.index as number;
    const purged = capture(encodeBinlogPosition({ fileIndex: oldest - 1, offset: 4 }));
    await expect(purged).rejects.toMatchObject({
      code: 'BINLOG_PURGED',
      exitCode: 3,
      message: expect.stringMatching(/purged past the checkpoint .*run `millrace backfill`/),
    });
    const ahead = capture(encodeBinlogPosition({ fileIndex: newest + 1, offset: 4 }));
    await expect(ahead).rejects.toMatchObject({ code: 'BINLOG_MISMATCH', exitCode: 3 });
  });
});

const keepalives = (events: readonly SourceEvent[]) =>
  events.flatMap((event) => (event.kind === 'keepalive' ? [event.lsn] : []));

describe('BinlogSource on a quiet table', () => {
  it("hands on another table's commit as a keepalive at its end, not as a transaction", async () => {
    const before = await currentPosition(db.mysql);
    const stream = await captureBinlog({
      mesUrl: db.mesUrl,
      database: db.mesName,
      tables: ['work_order'],
      startLsn: before,
      control: db.mysql,
      keepaliveMs: 0,
    });
    try {
      await db.mysql.query('insert into other values (500)');
      const after = await currentPosition(db.mysql);
      await stream.until((events) => keepalives(events).some((lsn) => lsn >= after));
      expect(shape(stream.events)).toEqual([]);
      // The first is where the stream started (the server's announcement of its file).
      expect(keepalives(stream.events)[0]).toBe(before);
    } finally {
      await stream.stop();
    }
  });

  it("hands on a new file's start as a keepalive when all before it was millrace's own writes", async () => {
    const stream = await capture();
    const marked = await connectMarkedSession(db.mesUrl);
    try {
      for (let id = 600; id < 605; id++) {
        await marked.query(`insert into work_order values (${id}, 'own', 1)`);
      }
      await db.mysql.query('flush binary logs');
      const newest = (await listBinlogFiles(db.mysql)).at(-1)?.index as number;
      const start = encodeBinlogPosition({ fileIndex: newest, offset: 4 });
      await stream.until((events) => keepalives(events).includes(start));
      expect(shape(stream.events)).toEqual([]);
    } finally {
      await marked.end();
      await stream.stop();
    }
  });
});

describe('BinlogSource refusals and statements', () => {
  it('hands on a TRUNCATE of a table read as a truncate in a transaction of its own', async () => {
    const stream = await capture();
    try {
      await db.mysql.query('truncate table other');
      await db.mysql.query('truncate table work_order');
      await stream.until((events) => commits(events).length === 1);
      expect(shape(stream.events)).toEqual([
        'begin',
        { kind: 'truncate', tables: ['work_order'] },
        'commit',
      ]);
    } finally {
      await stream.stop();
    }
  });

  it('stops with the fix on a non-transactional table and on a statement-format change', async () => {
    await db.mysql.query('create table legacy (id int primary key) engine=MyISAM');
    const legacy = await capture(undefined, ['legacy']);
    try {
      await db.mysql.query('insert into legacy values (1)');
      await expect(legacy.until(() => false)).rejects.toMatchObject({
        code: 'BINLOG_UNSUPPORTED',
        message: expect.stringContaining("'legacy' is not transactional"),
      });
    } finally {
      await legacy.stop();
    }
    const statements = await capture();
    try {
      await db.mysql.query("set session binlog_format = 'STATEMENT'");
      await db.mysql.query("insert into work_order values (300, 'stmt', 1)");
      await expect(statements.until(() => false)).rejects.toMatchObject({
        code: 'BINLOG_UNSUPPORTED',
        message: expect.stringContaining('set it to ROW'),
      });
    } finally {
      await db.mysql.query("set session binlog_format = 'ROW'");
      await statements.stop();
    }
  });
});

describe('BinlogSource while only left-out writes come', () => {
  it('stays up past three heartbeat periods with no heartbeat (the server sends none while it leaves writes out)', async () => {
    const stream = await capture();
    const marked = await connectMarkedSession(db.mesUrl);
    try {
      // The capture's heartbeat period is 1 s: a reader silent for 4 s counts as dead.
      const until = Date.now() + 6_000;
      for (let n = 0; Date.now() < until; n++) {
        await marked.query(`insert into other values (${10_000 + n})`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(stream.failures).toEqual([]);
      await db.mysql.query("insert into work_order values (700, 'after', 1)");
      await stream.until((events) => insertedIds(events).includes(700));
    } finally {
      await marked.end();
      await stream.stop();
    }
  });
});

describe('BinlogSource on a hung connection', () => {
  it('fails once the stream is silent for three heartbeat periods and the server does not answer either', async () => {
    const proxy = await proxyFor(db.mesUrl);
    const stream = await captureBinlog({
      mesUrl: throughProxy(db.mesUrl, proxy),
      database: db.mesName,
      tables: ['work_order'],
      startLsn: await currentPosition(db.mysql),
      control: db.mysql,
    });
    try {
      proxy.stall();
      const stalledAt = Date.now();
      await expect(stream.until(() => false, 15_000)).rejects.toThrow(
        /no event or heartbeat .* no answer about its dump thread/,
      );
      expect(Date.now() - stalledAt).toBeLessThan(10_000);
    } finally {
      await stream.stop();
      await proxy.close();
    }
  });
});

describe('No echo', () => {
  it("never hands on what millrace's writer wrote; an unmarked write right after comes through", async () => {
    const stream = await capture();
    const connection = await connectTarget({
      url: db.mesUrl,
      timeoutMs: 10_000,
      logger: silentLogger(),
    });
    try {
      const writer = new TargetWriter({ connection, logger: silentLogger(), onBadRow: 'stop' });
      const origin = { mapping: 'echo', lsn: 1n, operation: 'insert' as const, sourceValues: {} };
      await writer.apply({
        resets: [],
        deadLetters: [],
        tables: [
          {
            table: 'work_order',
            keyColumns: ['id'],
            deletes: [],
            updates: [],
            upserts: [{ key: [400], row: { id: 400, status: 'from crm', qty: '1' }, origin }],
          },
        ],
      });
      await writer.commit({});
      await db.mysql.query("insert into work_order values (401, 'from mes', 1)");
      await stream.until((events) => insertedIds(events).includes(401));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const [rows] = await db.mysql.query(
        'select id from work_order where id in (400, 401) order by id',
      );
      expect(rows).toEqual([{ id: 400 }, { id: 401 }]);
      expect(insertedIds(stream.events)).toEqual([401]);
    } finally {
      await connection.end();
      await stream.stop();
    }
  });
});
