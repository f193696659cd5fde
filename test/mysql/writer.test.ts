import { describe, expect, it } from 'vitest';
import { RuntimeFailure } from '../../src/errors/millrace-error.js';
import { silentLogger } from '../../src/log/logger.js';
import { TargetWriter } from '../../src/mysql/writer.js';
import type { OnBadRow } from '../../src/writes/refuse-row.js';
import type { DeadLetter, Origin, TableWrites, WriteChunk } from '../../src/writes/write-chunk.js';
import {
  type RecordedStatement,
  RecordingConnection,
  startingWith,
} from '../support/recording-connection.js';

const origin: Origin = { mapping: 'things', lsn: 0x2000n, operation: 'insert', sourceValues: {} };
const checkpoint = { slot: 'slot_a', lsn: 0x2000n };

/** Writes to one table: deletes of `deletes`, soft-delete updates of `updates`, upserts of `upserts`. */
function tableWrites(
  table: string,
  ids: { deletes?: number[]; updates?: number[]; upserts?: number[] },
): TableWrites {
  return {
    table,
    keyColumns: ['id'],
    deletes: (ids.deletes ?? []).map((id) => ({ key: [id], origin })),
    updates: (ids.updates ?? []).map((id) => ({ key: [id], row: { gone: 1 }, origin })),
    upserts: (ids.upserts ?? []).map((id) => ({
      key: [id],
      row: { id, name: `name ${id}` },
      origin,
    })),
  };
}

const letter: DeadLetter = { origin, key: { id: '99' }, error: 'bad value' };

/** Two tables with every kind of write, and a dead letter from the mapper. */
const fullChunk: WriteChunk = {
  resets: [],
  tables: [
    tableWrites('stg_a', { deletes: [1], updates: [2], upserts: [3, 4] }),
    tableWrites('stg_b', { deletes: [5], updates: [6], upserts: [7] }),
  ],
  deadLetters: [letter],
};

/** What each statement is, for order assertions. */
function kindOf(statement: RecordedStatement): string {
  const { sql } = statement;
  if (sql.startsWith('SET SESSION') || sql.startsWith('SELECT @@')) return 'session';
  if (sql.startsWith('INSERT INTO millrace_checkpoints')) return 'checkpoint';
  if (sql.startsWith('INSERT INTO millrace_dead_letters')) return 'dead letters';
  const table = /^(?:DELETE FROM|UPDATE|INSERT INTO) `(\w+)`/.exec(sql)?.[1];
  if (sql.startsWith('DELETE')) return sql.includes('WHERE') ? `delete ${table}` : `reset ${table}`;
  if (sql.startsWith('UPDATE')) return `update ${table}`;
  if (sql.startsWith('INSERT')) return `upsert ${table}`;
  return sql;
}

function writerOn(fake: RecordingConnection, onBadRow: OnBadRow = 'deadletter') {
  const letters: DeadLetter[] = [];
  const writer = new TargetWriter({
    connection: fake.connection,
    logger: silentLogger(),
    onBadRow,
    onDeadLetter: (dead) => letters.push(dead),
  });
  return { writer, letters };
}

describe('TargetWriter statements', () => {
  it('sends session settings once, then each transaction in order: chunk, dead letters, checkpoint, COMMIT', async () => {
    const fake = new RecordingConnection();
    const { writer } = writerOn(fake);
    const stats = await writer.apply(fullChunk);
    await writer.commit({ checkpoint });
    expect(stats).toEqual({ upserted: 3, deleted: 2, updated: 2, deadLetters: 1 });
    expect(fake.statements.map(kindOf)).toEqual([
      'session',
      'session',
      'session',
      'session',
      'START TRANSACTION',
      'delete stg_a',
      'update stg_a',
      'upsert stg_a',
      'delete stg_b',
      'update stg_b',
      'upsert stg_b',
      'dead letters',
      'checkpoint',
      'COMMIT',
    ]);
    const checkpointWrite = fake.statements.find((s) => kindOf(s) === 'checkpoint')!;
    expect(checkpointWrite.sql).toContain("VALUES ('slot_a', 8192, '0/2000', UTC_TIMESTAMP(6))");

    fake.statements.length = 0;
    await writer.apply({ resets: [{ table: 'stg_a', origin }], tables: [], deadLetters: [] });
    await writer.apply({
      resets: [],
      tables: [tableWrites('stg_a', { upserts: [8] })],
      deadLetters: [],
    });
    await writer.commit({ checkpoint });
    // Two chunks in one transaction; no session settings the second time.
    expect(fake.statements.map(kindOf)).toEqual([
      'START TRANSACTION',
      'reset stg_a',
      'upsert stg_a',
      'checkpoint',
      'COMMIT',
    ]);
  });

  it('retries the refused statement row by row after a row-data error, and records the refused row as a dead letter', async () => {
    const fake = new RecordingConnection();
    const { writer, letters } = writerOn(fake);
    // errno 1406, ER_DATA_TOO_LONG: both the multi-row statement and the culprit's own fail.
    fake.fail(
      (s) => s.sql.startsWith('INSERT INTO `stg_a`') && s.sql.includes("'name 4'"),
      1406,
      2,
    );
    const chunk: WriteChunk = {
      resets: [],
      tables: [tableWrites('stg_a', { deletes: [1], upserts: [3, 4, 5] })],
      deadLetters: [],
    };
    const stats = await writer.apply(chunk);
    await writer.commit({ checkpoint });
    expect(stats.deadLetters).toBe(1);
    expect(fake.statements.map(kindOf).slice(4)).toEqual([
      'START TRANSACTION',
      'delete stg_a', // applied, and it stands
      'upsert stg_a', // fails, undoing only itself: its rows are retried one at a time
      'upsert stg_a',
      'upsert stg_a', // id 4, refused
      'upsert stg_a',
      'dead letters',
      'checkpoint',
      'COMMIT',
    ]);
    expect(fake.sql.join('\n')).not.toContain('SAVEPOINT');
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ origin: { mapping: 'things' }, key: { id: 4 } });
    expect(letters[0]?.error).toMatch(/1406/);
    const deadLetterInsert = fake.statements.find((s) => kindOf(s) === 'dead letters')!;
    expect(deadLetterInsert.sql).toContain(`'{"id":4}'`);
  });

  it('stops with BAD_ROW on a refused row when onBadRow is stop, and writes no dead letter', async () => {
    const fake = new RecordingConnection();
    const { writer, letters } = writerOn(fake, 'stop');
    fake.fail(
      (s) => s.sql.startsWith('INSERT INTO `stg_a`') && s.sql.includes("'name 4'"),
      1406,
      2,
    );
    const chunk: WriteChunk = {
      resets: [],
      tables: [tableWrites('stg_a', { upserts: [3, 4, 5] })],
      deadLetters: [],
    };
    const failure = await writer.apply(chunk).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RuntimeFailure);
    expect(failure).toMatchObject({ code: 'BAD_ROW', context: { mapping: 'things' } });
    expect(letters).toEqual([]);
    await writer.rollback();
    const kinds = fake.statements.map(kindOf);
    expect(kinds).not.toContain('dead letters');
    expect(kinds).not.toContain('COMMIT');
    expect(kinds.at(-1)).toBe('ROLLBACK');
  });

  it('does not retry row by row after an error that is not about a row (a lost connection)', async () => {
    const fake = new RecordingConnection();
    const { writer } = writerOn(fake);
    fake.fail(startingWith('INSERT INTO `stg_a`'), 2013);
    const failure = await writer
      .apply({ resets: [], tables: [tableWrites('stg_a', { upserts: [3] })], deadLetters: [] })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ errno: 2013 });
    expect(fake.statements.map(kindOf).filter((kind) => kind === 'upsert stg_a')).toHaveLength(1);
  });
});

/**
 * A session that fails rolls back while a write may be in flight: nothing of that transaction may
 * reach the server after the ROLLBACK (it would run in autocommit, and a COMMIT after it would
 * make a checkpoint durable without its rows), whatever the moment the rollback comes.
 */
describe('TargetWriter rollback while a write is in flight', () => {
  /**
   * Nothing follows the ROLLBACK; the transaction ends one way only (committed before the
   * rollback came, or rolled back); with `rollbackAt`, the statements sent after the rollback was
   * asked for may be the ROLLBACK and nothing else.
   */
  function expectNothingAfterRollback(sql: readonly string[], rollbackAt?: number): void {
    const rolledBack = sql.indexOf('ROLLBACK');
    if (rolledBack >= 0) expect(sql.slice(rolledBack + 1), sql.join('\n')).toEqual([]);
    const committed = sql.includes('COMMIT');
    expect(committed && rolledBack >= 0, sql.join('\n')).toBe(false);
    if (sql.includes('START TRANSACTION') && !committed) expect(sql).toContain('ROLLBACK');
    if (rollbackAt !== undefined) {
      expect(
        sql.slice(rollbackAt).filter((text) => text !== 'ROLLBACK'),
        sql.join('\n'),
      ).toEqual([]);
    }
  }

  /** The pipeline's write: apply, then commit with the checkpoint. */
  async function write(writer: TargetWriter, chunk: WriteChunk): Promise<void> {
    await writer.apply(chunk);
    await writer.commit({ checkpoint });
  }

  /** How many statements an undisturbed apply + commit of `chunk` sends. */
  async function statementCount(chunk: WriteChunk, setup?: (fake: RecordingConnection) => void) {
    const fake = new RecordingConnection();
    setup?.(fake);
    await write(writerOn(fake).writer, chunk);
    return fake.statements.length;
  }

  async function rollbackWhileHolding(
    chunk: WriteChunk,
    index: number,
    setup?: (fake: RecordingConnection) => void,
  ): Promise<void> {
    const fake = new RecordingConnection();
    setup?.(fake);
    const { writer } = writerOn(fake);
    const held = fake.hold((_statement, at) => at === index);
    const writing = write(writer, chunk).catch(() => undefined);
    await held.reached;
    const rollbackAt = fake.statements.length;
    const rollingBack = writer.rollback();
    held.release();
    await Promise.all([writing, rollingBack]);
    expectNothingAfterRollback(fake.sql, rollbackAt);
  }

  it('sends nothing after the ROLLBACK when it comes during any statement of apply or commit', async () => {
    const count = await statementCount(fullChunk);
    expect(count).toBe(14);
    for (let index = 0; index < count; index++) await rollbackWhileHolding(fullChunk, index);
  });

  it('sends nothing after the ROLLBACK when it comes during a row-by-row retry', async () => {
    const chunk: WriteChunk = {
      resets: [],
      tables: [tableWrites('stg_a', { deletes: [1], upserts: [3, 4, 5] })],
      deadLetters: [],
    };
    const setup = (fake: RecordingConnection) =>
      fake.fail(
        (s) => s.sql.startsWith('INSERT INTO `stg_a`') && s.sql.includes("'name 4'"),
        1406,
        2,
      );
    const count = await statementCount(chunk, setup);
    expect(count).toBeGreaterThan(11);
    for (let index = 0; index < count; index++) await rollbackWhileHolding(chunk, index, setup);
  });

  it('sends nothing after the ROLLBACK when it comes between apply and commit', async () => {
    for (const order of ['rollback first', 'commit first'] as const) {
      const fake = new RecordingConnection();
      const { writer } = writerOn(fake);
      await writer.apply(fullChunk);
      const rollbackAt = fake.statements.length;
      let rollingBack: Promise<void>;
      let committing: Promise<void>;
      if (order === 'rollback first') {
        rollingBack = writer.rollback();
        committing = writer.commit({ checkpoint });
      } else {
        committing = writer.commit({ checkpoint });
        rollingBack = writer.rollback();
      }
      await Promise.all([committing.catch(() => undefined), rollingBack]);
      // Asked for first, the commit may finish, and then there is nothing to roll back.
      expectNothingAfterRollback(fake.sql, order === 'rollback first' ? rollbackAt : undefined);
    }
  });

  it('sends nothing when the rollback comes after the commit', async () => {
    const fake = new RecordingConnection();
    const { writer } = writerOn(fake);
    await write(writer, fullChunk);
    const count = fake.statements.length;
    await writer.rollback();
    expect(fake.statements).toHaveLength(count);
  });
});
