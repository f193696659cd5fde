import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyError, isNoSuchTable, sqlState } from '../../src/errors/classify-error.js';
import { errorSide, markError } from '../../src/errors/error-origin.js';
import { ConfigError, RuntimeFailure, ValueError } from '../../src/errors/millrace-error.js';
import { silentLogger } from '../../src/log/logger.js';
import { connectTarget, type MysqlConnection } from '../../src/mysql/mysql-client.js';
import { connectSource, type PgClient } from '../../src/postgres/pg-client.js';
import { ReplicationSource } from '../../src/postgres/replication-source.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/**
 * The one classification, on errors as pg, mysql2 and pg-logical-replication really throw them:
 * provoked against the test servers (a syntax error, a duplicate key, a killed session), through
 * the connections millrace makes, so the side and lost-connection marks are the real ones too.
 */

let dbs: TestDatabases;
const logger = silentLogger();

beforeAll(async () => {
  dbs = await createTestDatabases('classify-error');
  await dbs.pg.query('create table item (id int primary key, qty int not null)');
  await dbs.mysql.query('create table item (id int primary key, code varchar(3) not null)');
});

afterAll(async () => {
  await dbs?.drop();
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function crm(): Promise<PgClient> {
  return connectSource({ url: dbs.crmUrl, timeoutMs: 5_000, logger });
}

function mes(): Promise<MysqlConnection> {
  return connectTarget({ url: dbs.mesUrl, timeoutMs: 5_000, logger });
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not reached');
}

describe('PostgreSQL errors (the CRM)', () => {
  it('classifies statement errors by SQLSTATE and marks them crm', async () => {
    const client = await crm();
    try {
      const syntax = await rejection(client.query('selec 1'));
      expect(sqlState(syntax)).toBe('42601');
      expect(classifyError(syntax)).toBe('permanent');
      expect(errorSide(syntax)).toBe('crm');

      await client.query('insert into item values (1, 1)');
      const duplicate = await rejection(client.query('insert into item values (1, 1)'));
      expect(sqlState(duplicate)).toBe('23505');
      expect(classifyError(duplicate)).toBe('row-data');

      const invalid = await rejection(client.query("select 'x'::int"));
      expect(sqlState(invalid)).toBe('22P02');
      expect(classifyError(invalid)).toBe('row-data');
      expect(errorSide(invalid)).toBe('crm');
    } finally {
      await client.end();
    }
  });

  it('classifies a session terminated mid-query, and every later query, as lost-connection', async () => {
    const client = await crm();
    const pid = (await client.query<{ pid: string }>('select pg_backend_pid() as pid')).rows[0]!
      .pid;
    const sleeping = rejection(client.query('select pg_sleep(30)'));
    await waitFor(async () => {
      const active = await dbs.pg.query(
        "select 1 from pg_stat_activity where pid = $1 and state = 'active'",
        [pid],
      );
      return active.rows.length > 0;
    });
    await dbs.pg.query('select pg_terminate_backend($1)', [pid]);
    const terminated = await sleeping;
    expect(sqlState(terminated)).toBe('57P01');
    expect(classifyError(terminated)).toBe('lost-connection');
    expect(errorSide(terminated)).toBe('crm');

    // pg's error for a query on the dead client has no code: the watch knows it is lost.
    const after = await rejection(client.query('select 1'));
    expect(sqlState(after)).toBeUndefined();
    expect(classifyError(after)).toBe('lost-connection');
    expect(errorSide(after)).toBe('crm');
    await client.end().catch(() => undefined);
  });

  it('classifies a query on an idle session the server terminated as lost-connection', async () => {
    const client = await crm();
    const pid = (await client.query<{ pid: string }>('select pg_backend_pid() as pid')).rows[0]!
      .pid;
    await dbs.pg.query('select pg_terminate_backend($1)', [pid]);
    await waitFor(async () => {
      const gone = await dbs.pg.query('select 1 from pg_stat_activity where pid = $1', [pid]);
      return gone.rows.length === 0;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await rejection(client.query('select 1'));
    expect(classifyError(after)).toBe('lost-connection');
    expect(errorSide(after)).toBe('crm');
    await client.end().catch(() => undefined);
  });

  it('marks an unreachable server transient and crm, a missing database permanent', async () => {
    const refused = await rejection(
      connectSource({ url: 'postgres://postgres@127.0.0.1:1/crm', timeoutMs: 300, logger }),
    );
    expect(refused).toBeInstanceOf(RuntimeFailure);
    expect((refused as RuntimeFailure).code).toBe('SOURCE_UNREACHABLE');
    expect(classifyError((refused as RuntimeFailure).cause)).toBe('transient');
    expect(classifyError(refused)).toBe('transient');
    expect(errorSide(refused)).toBe('crm');

    const url = new URL(dbs.crmUrl);
    url.pathname = '/mrt_no_such_database';
    const missing = await rejection(
      connectSource({ url: url.toString(), timeoutMs: 5_000, logger }),
    );
    expect(sqlState((missing as RuntimeFailure).cause)).toBe('3D000');
    expect(classifyError((missing as RuntimeFailure).cause)).toBe('permanent');
    // Failed at once: only outages are waited out.
    expect((missing as RuntimeFailure).message).not.toMatch(/ after \d+s/);
  });
});

describe('MySQL errors (the MES)', () => {
  it('classifies statement errors by errno and marks them mes', async () => {
    const connection = await mes();
    try {
      await connection.query("set session sql_mode = 'STRICT_ALL_TABLES'");
      const syntax = await rejection(connection.query('selec 1'));
      expect((syntax as { errno: number }).errno).toBe(1064);
      expect(classifyError(syntax)).toBe('permanent');
      expect(errorSide(syntax)).toBe('mes');

      await connection.query("insert into item values (1, 'a')");
      const duplicate = await rejection(connection.query("insert into item values (1, 'a')"));
      expect((duplicate as { errno: number }).errno).toBe(1062);
      expect(classifyError(duplicate)).toBe('row-data');

      const tooLong = await rejection(connection.query("insert into item values (2, 'abcd')"));
      expect((tooLong as { errno: number }).errno).toBe(1406);
      expect(classifyError(tooLong)).toBe('row-data');

      const noTable = await rejection(connection.query('select * from nope'));
      expect(isNoSuchTable(noTable)).toBe(true);
      expect(classifyError(noTable)).toBe('permanent');
      expect(isNoSuchTable(duplicate)).toBe(false);
    } finally {
      await connection.end();
    }
  });

  it('classifies a killed session, mid-query and after, as lost-connection on the mes side', async () => {
    const connection = await mes();
    const [rows] = await connection.query('select connection_id() as id');
    const id = (rows as { id: number }[])[0]!.id;
    const sleeping = rejection(connection.query('select sleep(30)'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await dbs.mysql.query(`kill ${id}`);
    const killed = await sleeping;
    expect(classifyError(killed)).toBe('lost-connection');
    expect(errorSide(killed)).toBe('mes');

    const after = await rejection(connection.query('select 1'));
    expect(classifyError(after)).toBe('lost-connection');
    expect(errorSide(after)).toBe('mes');
    await connection.end().catch(() => undefined);
  });

  it('classifies a query on an idle killed session as lost-connection', async () => {
    const connection = await mes();
    const [rows] = await connection.query('select connection_id() as id');
    const id = (rows as { id: number }[])[0]!.id;
    await dbs.mysql.query(`kill ${id}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await rejection(connection.query('select 1'));
    expect(classifyError(after)).toBe('lost-connection');
    expect(errorSide(after)).toBe('mes');
    await connection.end().catch(() => undefined);
  });

  it('marks an unreachable server transient and mes, bad credentials permanent', async () => {
    const refused = await rejection(
      connectTarget({ url: 'mysql://root@127.0.0.1:1/mes', timeoutMs: 300, logger }),
    );
    expect((refused as RuntimeFailure).code).toBe('TARGET_UNREACHABLE');
    expect(classifyError((refused as RuntimeFailure).cause)).toBe('transient');
    expect(errorSide(refused)).toBe('mes');

    const url = new URL(dbs.mesUrl);
    url.username = 'mrt_nobody';
    const denied = await rejection(
      connectTarget({ url: url.toString(), timeoutMs: 5_000, logger }),
    );
    // ER_ACCESS_DENIED_ERROR, or MariaDB's ER_ACCESS_DENIED_NO_PASSWORD_ERROR.
    expect((denied as RuntimeFailure).cause).toMatchObject({ sqlState: '28000' });
    expect(classifyError((denied as RuntimeFailure).cause)).toBe('permanent');
    expect((denied as RuntimeFailure).message).not.toMatch(/ after \d+s/);
  });
});

describe('the replication stream', () => {
  const slot = `mrt_classify_${process.pid}`;

  beforeAll(async () => {
    await dbs.pg.query('create publication mrt_classify for table item');
    await dbs.pg.query("select pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
  });

  function stream(
    slotName: string,
    onError: (error: unknown) => void,
  ): { start(): Promise<void>; stop(): Promise<void> } {
    const source = new ReplicationSource({
      url: dbs.crmUrl,
      slot: slotName,
      publication: 'mrt_classify',
      startLsn: 0n,
      logger,
    });
    return {
      start: () => source.start({ event: () => undefined, fail: onError }),
      stop: () => source.stop(),
    };
  }

  it('reports a missing slot as a permanent crm error', async () => {
    const source = stream(`${slot}_missing`, () => undefined);
    const failure = await rejection(source.start());
    // Explained where the stream starts: the slot's name and the fix, the server's error kept.
    expect((failure as { code?: unknown }).code).toBe('SLOT_MISSING');
    expect(sqlState((failure as { cause?: unknown }).cause)).toBe('42704');
    expect(classifyError(failure)).toBe('permanent');
    expect(errorSide(failure)).toBe('crm');
    await source.stop();
  });

  it('reports a terminated walsender as a lost crm connection', async () => {
    let reported: unknown;
    const source = stream(slot, (error) => {
      reported = error;
    });
    await source.start();
    await waitFor(async () => {
      const active = await dbs.pg.query(
        'select 1 from pg_replication_slots where slot_name = $1 and active_pid is not null',
        [slot],
      );
      return active.rows.length > 0;
    });
    await dbs.pg.query(
      'select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1',
      [slot],
    );
    await waitFor(async () => reported !== undefined);
    expect(classifyError(reported)).toBe('lost-connection');
    expect(errorSide(reported)).toBe('crm');
    await source.stop();
  });
});

describe("millrace's own errors", () => {
  it('classifies by code and class', () => {
    expect(classifyError(new RuntimeFailure('SOURCE_UNREACHABLE', 'away'))).toBe('transient');
    expect(classifyError(new RuntimeFailure('STREAM_ENDED', 'ended'))).toBe('lost-connection');
    expect(classifyError(new RuntimeFailure('SLOT_MISSING', 'no slot'))).toBe('permanent');
    expect(classifyError(new ConfigError('CONFIG_INVALID', 'bad'))).toBe('permanent');
    expect(classifyError(new ValueError('VALUE_TOO_LONG', 'long'))).toBe('row-data');
    expect(classifyError(new Error('anything at all'))).toBe('permanent');
    expect(classifyError(undefined)).toBe('permanent');
  });

  it('finds the side through wrapping errors, and keeps the first side marked', () => {
    const cause = markError(new Error('gone'), 'mes', true);
    const wrapped = new RuntimeFailure('CONTROL_TABLES_MISSING', 'wrapped', { cause });
    expect(errorSide(wrapped)).toBe('mes');
    expect(classifyError(wrapped)).toBe('permanent');
    expect(classifyError(cause)).toBe('lost-connection');
    markError(cause, 'crm', false);
    expect(errorSide(cause)).toBe('mes');
    expect(classifyError(cause)).toBe('lost-connection');
    expect(errorSide(new Error('unmarked'))).toBeUndefined();
  });
});
