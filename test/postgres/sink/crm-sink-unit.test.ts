import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log/logger.js';
import { CrmSink } from '../../../src/postgres/sink/crm-sink.js';
import type {
  DeadLetter,
  Origin,
  TableWrites,
  WriteChunk,
} from '../../../src/writes/write-chunk.js';
import { type RecordedPgStatement, RecordingPgClient } from '../../support/recording-pg-client.js';

const origin: Origin = {
  mapping: 'orders',
  lsn: (7n << 32n) | 4n,
  operation: 'insert',
  sourceValues: {},
};
const checkpoint = { slot: 'mes', lsn: (7n << 32n) | 900n, gtid: '0-1-42' };
const describePosition = (lsn: bigint) => ({
  file: `mariadb-bin.${String(lsn >> 32n).padStart(6, '0')}`,
  position: lsn & 0xffffffffn,
});

function tableWrites(
  table: string,
  ids: { deletes?: number[]; updates?: number[]; upserts?: number[] },
): TableWrites {
  return {
    table,
    keyColumns: ['id'],
    deletes: (ids.deletes ?? []).map((id) => ({ key: [String(id)], origin })),
    updates: (ids.updates ?? []).map((id) => ({ key: [String(id)], row: { gone: 't' }, origin })),
    upserts: (ids.upserts ?? []).map((id) => ({
      key: [String(id)],
      row: { id: String(id), name: `name ${id}` },
      origin,
    })),
  };
}

const letter: DeadLetter = { origin, key: { id: '99' }, error: 'bad value' };

const fullChunk: WriteChunk = {
  resets: [],
  tables: [
    tableWrites('crm.stg_a', { deletes: [1], updates: [2], upserts: [3, 4] }),
    tableWrites('crm.stg_b', { deletes: [5], updates: [6], upserts: [7] }),
  ],
  deadLetters: [letter],
};

/** What each statement is, for order assertions. */
function kindOf(statement: RecordedPgStatement): string {
  const { text } = statement;
  if (text.includes('pg_replication_origin')) return 'origin';
  if (text.startsWith('INSERT INTO millrace.checkpoints')) return 'checkpoint';
  if (text.startsWith('INSERT INTO millrace.dead_letters')) return 'dead letters';
  const table = /^(?:DELETE FROM|UPDATE|INSERT INTO) "crm"\."(\w+)"/.exec(text)?.[1];
  if (text.startsWith('DELETE')) return `delete ${table}`;
  if (text.startsWith('UPDATE')) return `update ${table}`;
  if (text.startsWith('INSERT')) return `upsert ${table}`;
  return text;
}

function sinkOn(fake: RecordingPgClient, options: { journalBytes?: number } = {}) {
  const letters: DeadLetter[] = [];
  const sink = new CrmSink({
    client: fake.client,
    logger: silentLogger(),
    stream: 'mes',
    onBadRow: 'deadletter',
    describePosition,
    onDeadLetter: (dead) => letters.push(dead),
    ...options,
  });
  return { sink, letters };
}

const failsOn = (name: string) => (statement: RecordedPgStatement) =>
  statement.text.startsWith('INSERT INTO "crm"."stg_a"') && statement.values.includes(name);

describe('CrmSink statements', () => {
  it('tags the session with its origin once, then sends each transaction in order: chunk, dead letters, checkpoint, COMMIT', async () => {
    const fake = new RecordingPgClient();
    const { sink } = sinkOn(fake);
    const stats = await sink.apply(fullChunk);
    await sink.commit({ checkpoint });
    await sink.apply(fullChunk);
    await sink.commit({ checkpoint });
    expect(stats).toEqual({ upserted: 3, deleted: 2, updated: 2, deadLetters: 1 });
    const transaction = [
      'BEGIN',
      'delete stg_a',
      'update stg_a',
      'upsert stg_a',
      'delete stg_b',
      'update stg_b',
      'upsert stg_b',
      'dead letters',
      'checkpoint',
      'COMMIT',
    ];
    expect(fake.statements.map(kindOf)).toEqual([
      'origin',
      'origin',
      ...transaction,
      ...transaction,
    ]);
    expect(fake.statements[0]!.values).toEqual(['millrace_mes']);
    // No savepoint on the normal path.
    expect(fake.texts.filter((text) => text.includes('SAVEPOINT'))).toEqual([]);
    const saved = fake.statements.find((statement) => kindOf(statement) === 'checkpoint')!;
    expect(saved.values).toEqual([
      'mes',
      checkpoint.lsn.toString(),
      'mariadb-bin.000007',
      '900',
      '0-1-42',
    ]);
    const dead = fake.statements.find((statement) => kindOf(statement) === 'dead letters')!;
    expect(dead.values.slice(0, 4)).toEqual([
      'orders',
      origin.lsn!.toString(),
      'mariadb-bin.000007:4',
      'insert',
    ]);
  });

  it('after a refused row, rolls back, replays the transaction so far, and retries the chunk row by row', async () => {
    const fake = new RecordingPgClient();
    const { sink, letters } = sinkOn(fake);
    const first: WriteChunk = {
      resets: [],
      tables: [tableWrites('crm.stg_a', { upserts: [1] })],
      deadLetters: [],
    };
    const second: WriteChunk = {
      resets: [],
      tables: [tableWrites('crm.stg_a', { deletes: [9], upserts: [2, 3, 4] })],
      deadLetters: [],
    };
    await sink.apply(first);
    fake.fail(failsOn('name 3'), '22P02', 2);
    const stats = await sink.apply(second);
    await sink.commit({ checkpoint });
    expect(stats.deadLetters).toBe(1);
    expect(letters.map((dead) => dead.key)).toEqual([{ id: '3' }]);
    const after = fake.texts.slice(fake.texts.indexOf('ROLLBACK'));
    expect(after.map((text) => kindOf({ text, values: [] }))).toEqual([
      'ROLLBACK',
      'BEGIN',
      'upsert stg_a', // the first chunk, replayed
      ...['SAVEPOINT millrace_row', 'delete stg_a', 'RELEASE SAVEPOINT millrace_row'],
      ...['SAVEPOINT millrace_row', 'upsert stg_a', 'RELEASE SAVEPOINT millrace_row'],
      ...[
        'SAVEPOINT millrace_row',
        'upsert stg_a',
        'ROLLBACK TO SAVEPOINT millrace_row',
        'RELEASE SAVEPOINT millrace_row',
      ],
      ...['SAVEPOINT millrace_row', 'upsert stg_a', 'RELEASE SAVEPOINT millrace_row'],
      'dead letters',
      'checkpoint',
      'COMMIT',
    ]);
    expect(fake.statements[fake.texts.indexOf('ROLLBACK') + 2]!.values).toEqual(['1', 'name 1']);
  });

  it('runs each chunk under a savepoint once the transaction outgrew its journal', async () => {
    const fake = new RecordingPgClient();
    const { sink, letters } = sinkOn(fake, { journalBytes: 1 });
    const chunk = (ids: number[]): WriteChunk => ({
      resets: [],
      tables: [tableWrites('crm.stg_a', { upserts: ids })],
      deadLetters: [],
    });
    await sink.apply(chunk([1]));
    fake.fail(failsOn('name 3'), '22003', 2);
    await sink.apply(chunk([2, 3]));
    await sink.commit({ checkpoint });
    expect(letters.map((dead) => dead.key)).toEqual([{ id: '3' }]);
    expect(fake.texts).not.toContain('ROLLBACK');
    const saved = fake.texts.slice(fake.texts.indexOf('SAVEPOINT millrace_chunk'));
    expect(saved[2]).toBe('ROLLBACK TO SAVEPOINT millrace_chunk');
    expect(saved.at(-4)).toBe('RELEASE SAVEPOINT millrace_chunk');
    // The next transaction journals again.
    await sink.apply(chunk([5]));
    expect(fake.texts.at(-1)).toMatch(/^INSERT INTO "crm"."stg_a"/);
  });

  it('does not retry after an error that is not about a row, and fails a COMMIT the server turned into a rollback', async () => {
    const fake = new RecordingPgClient();
    const { sink } = sinkOn(fake);
    fake.fail(failsOn('name 3'), '08006');
    await expect(sink.apply(fullChunk)).rejects.toMatchObject({ code: '08006' });
    expect(fake.texts).not.toContain('ROLLBACK');
    const odd = new RecordingPgClient();
    const other = sinkOn(odd).sink;
    await other.apply(fullChunk);
    const query = odd.query.bind(odd);
    odd.query = async (text, values) => ({
      ...(await query(text, values)),
      command: text === 'COMMIT' ? 'ROLLBACK' : 'X',
    });
    await expect(other.commit({ checkpoint })).rejects.toMatchObject({ code: 'WRITE_ABANDONED' });
  });

  it('stops with BAD_ROW on a refused row when onBadRow is stop', async () => {
    const fake = new RecordingPgClient();
    const sink = new CrmSink({
      client: fake.client,
      logger: silentLogger(),
      stream: 'mes',
      onBadRow: 'stop',
      describePosition,
    });
    fake.fail(failsOn('name 3'), '22P02', 2);
    await expect(sink.apply(fullChunk)).rejects.toMatchObject({ code: 'BAD_ROW' });
    expect(
      fake.texts.filter((text) => text.startsWith('INSERT INTO millrace.dead_letters')),
    ).toEqual([]);
  });

  it('detaches the session from its origin on release', async () => {
    const fake = new RecordingPgClient();
    const { sink } = sinkOn(fake);
    await sink.apply(fullChunk);
    await sink.release();
    expect(fake.texts.slice(-2)).toEqual([
      'ROLLBACK',
      'SELECT pg_replication_origin_session_reset()',
    ]);
  });
});

/**
 * A session that fails rolls back while a write may be in flight: nothing of that transaction may
 * reach the server after the ROLLBACK (it would run in autocommit, and a COMMIT after it would
 * make a checkpoint durable without its rows), whatever the moment the rollback comes.
 */
describe('CrmSink rollback while a write is in flight', () => {
  /**
   * From the moment the rollback was asked for, at most a ROLLBACK is sent; and no transaction is
   * left open (the sink's own ROLLBACK before a replay ends one too).
   */
  function expectNothingAfterRollback(texts: readonly string[], rollbackAt: number): void {
    const after = texts.slice(rollbackAt);
    expect(after.length <= 1 && after.every((text) => text === 'ROLLBACK'), texts.join('\n')).toBe(
      true,
    );
    let open = false;
    for (const text of texts) {
      if (text === 'BEGIN') open = true;
      if (text === 'COMMIT' || text === 'ROLLBACK') open = false;
    }
    expect(open, texts.join('\n')).toBe(false);
  }

  async function write(sink: CrmSink, chunks: readonly WriteChunk[]): Promise<void> {
    for (const chunk of chunks) await sink.apply(chunk);
    await sink.commit({ checkpoint });
  }

  type Setup = (fake: RecordingPgClient) => void;

  async function statementCount(chunks: readonly WriteChunk[], setup?: Setup): Promise<number> {
    const fake = new RecordingPgClient();
    setup?.(fake);
    await write(sinkOn(fake).sink, chunks);
    return fake.statements.length;
  }

  async function rollbackWhileHolding(chunks: readonly WriteChunk[], index: number, setup?: Setup) {
    const fake = new RecordingPgClient();
    setup?.(fake);
    const { sink } = sinkOn(fake);
    const held = fake.hold((_statement, at) => at === index);
    const writing = write(sink, chunks).catch(() => undefined);
    await held.reached;
    const rollbackAt = fake.statements.length;
    const rollingBack = sink.rollback();
    held.release();
    await Promise.all([writing, rollingBack]);
    expectNothingAfterRollback(fake.texts, rollbackAt);
  }

  it('sends nothing after the ROLLBACK when it comes during any statement of apply or commit', async () => {
    const count = await statementCount([fullChunk]);
    expect(count).toBe(12);
    for (let index = 0; index < count; index++) await rollbackWhileHolding([fullChunk], index);
  });

  it('sends nothing after the ROLLBACK when it comes during a replay or a row-by-row retry', async () => {
    const chunks: WriteChunk[] = [
      { resets: [], tables: [tableWrites('crm.stg_a', { upserts: [1] })], deadLetters: [] },
      {
        resets: [],
        tables: [tableWrites('crm.stg_a', { deletes: [9], upserts: [3, 4, 5] })],
        deadLetters: [],
      },
    ];
    const setup: Setup = (fake) => fake.fail(failsOn('name 4'), '22003', 2);
    const count = await statementCount(chunks, setup);
    expect(count).toBeGreaterThan(20);
    for (let index = 0; index < count; index++) await rollbackWhileHolding(chunks, index, setup);
  });

  it('sends nothing after the ROLLBACK when it comes between apply and commit', async () => {
    const fake = new RecordingPgClient();
    const { sink } = sinkOn(fake);
    await sink.apply(fullChunk);
    const rollbackAt = fake.statements.length;
    const rollingBack = sink.rollback();
    const committing = sink.commit({ checkpoint });
    await expect(committing).rejects.toMatchObject({ code: 'WRITE_ABANDONED' });
    await rollingBack;
    expectNothingAfterRollback(fake.texts, rollbackAt);
  });
});
