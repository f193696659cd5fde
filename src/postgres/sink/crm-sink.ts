import { isRowDataError } from '../../errors/classify-error.js';
import { RuntimeFailure } from '../../errors/millrace-error.js';
import type { Logger } from '../../log/logger.js';
import type { Checkpoint, ChunkStats, Sink } from '../../pipeline/sink.js';
import { targetKeyRecord } from '../../values/key-text.js';
import { type OnBadRow, refuseRow } from '../../writes/refuse-row.js';
import type {
  DeadLetter,
  KeyedWrite,
  Origin,
  RowWrite,
  TableWrites,
  WriteChunk,
} from '../../writes/write-chunk.js';
import type { PgClient } from '../pg-client.js';
import {
  copyStatement,
  singleWriteStatement,
  statementBudget,
  tableStatements,
} from './sink-statements.js';
import { type BinlogPlace, writeCheckpoint } from './sql/checkpoint.js';
import { deadLetterStatements } from './sql/insert-dead-letters.js';
import {
  createOrigin,
  originName,
  resetOriginSession,
  setupOriginSession,
} from './sql/replication-origin.js';
import { resetTable } from './sql/reset-table.js';
import type { PgStatement } from './sql/statement.js';

const plain = (text: string): PgStatement => ({ text, values: [] });

/** Statements of an open transaction kept for a replay, by default: about this many bytes. */
const defaultJournalBytes = 32 * 1024 * 1024;

export interface CrmSinkOptions {
  readonly client: PgClient;
  readonly logger: Logger;
  /** The return path's stream: its commits carry the replication origin `millrace_<stream>`. */
  readonly stream: string;
  /**
   * The origin's name instead, for a writer beside the stream's own (a backfill): only one
   * session may hold an origin, and the forward stream drops every `millrace…` origin alike.
   */
  readonly origin?: string;
  /** What to do with a row the CRM refuses: record it and go on, or stop. */
  readonly onBadRow: OnBadRow;
  /** Spells an encoded position as binlog file and offset (checkpoint row, dead letters). */
  readonly describePosition: (lsn: bigint) => BinlogPlace;
  /** Called for each dead letter written (metrics). */
  readonly onDeadLetter?: (letter: DeadLetter) => void;
  /**
   * Bytes of statement values an open transaction keeps to replay itself after a refused row;
   * past it, the transaction's further chunks each run under a savepoint instead.
   */
  readonly journalBytes?: number;
}

/**
 * The return path's sink: chunks go into one open PostgreSQL transaction on the CRM that
 * `commit` closes together with the checkpoint row in `millrace.checkpoints`, so the CRM never
 * holds rows without the binlog position that produced them, nor the position without its rows.
 * Every commit carries the stream's replication origin, which is how the forward stream knows
 * millrace wrote it.
 *
 * A statement that fails aborts a PostgreSQL transaction. Savepoints would let one chunk fail
 * alone, but each is a subtransaction, and a long transaction of many is costly to every
 * session's snapshots. So the normal path has none: the statements of the open transaction are
 * kept (up to `journalBytes`), and when a row is refused the transaction is rolled back, replayed,
 * and only the failing chunk is retried row by row, each row under a savepoint.
 */
export class CrmSink implements Sink {
  private readonly client: PgClient;
  private readonly logger: Logger;
  private readonly origin: string;
  private readonly onBadRow: OnBadRow;
  private readonly describePosition: (lsn: bigint) => BinlogPlace;
  private readonly onDeadLetter: ((letter: DeadLetter) => void) | undefined;
  private readonly journalBytes: number;
  private inTransaction = false;
  private prepared = false;
  /** Every apply or commit in flight, settled either way: a rollback waits for them. */
  private inflight: Promise<unknown> = Promise.resolve();
  /**
   * Set by a rollback, for good: the rest of a write in flight, and a commit that comes after,
   * must not run, since after the ROLLBACK they would run in autocommit (and the checkpoint would
   * become durable without its rows).
   */
  private abandoned = false;
  /** The open transaction's statements so far; undefined once they outgrew `journalBytes`. */
  private journal: PgStatement[] | undefined = [];
  private journalSize = 0;

  constructor(options: CrmSinkOptions) {
    this.client = options.client;
    this.logger = options.logger;
    this.origin = options.origin ?? originName(options.stream);
    this.onBadRow = options.onBadRow;
    this.describePosition = options.describePosition;
    this.onDeadLetter = options.onDeadLetter;
    this.journalBytes = options.journalBytes ?? defaultJournalBytes;
  }

  /** Applies a chunk inside the open transaction (opening one if needed). */
  apply(chunk: WriteChunk): Promise<ChunkStats> {
    return this.track(this.applyChunk(chunk));
  }

  private async applyChunk(chunk: WriteChunk): Promise<ChunkStats> {
    await this.begin();
    const refused = this.journal ? await this.applyJournaled(chunk) : await this.applySaved(chunk);
    const letters = [...chunk.deadLetters, ...refused];
    if (letters.length > 0) await this.recordDeadLetters(letters);
    // Checked between chunks only: a chunk is journaled whole or not at all.
    if (this.journal && this.journalSize > this.journalBytes) this.journal = undefined;
    return {
      upserted: chunk.tables.reduce((sum, table) => sum + table.upserts.length, 0),
      deleted: chunk.tables.reduce((sum, table) => sum + table.deletes.length, 0),
      updated: chunk.tables.reduce((sum, table) => sum + table.updates.length, 0),
      deadLetters: letters.length,
    };
  }

  /** The normal path: no savepoint; a refused row rolls back and replays the transaction. */
  private async applyJournaled(chunk: WriteChunk): Promise<DeadLetter[]> {
    const journal = this.journal!;
    const mark = journal.length;
    try {
      await this.executeChunk(chunk);
      return [];
    } catch (error) {
      if (!isRowDataError(error)) throw error;
      journal.length = mark;
      await this.replay(journal);
      return this.executeRowByRow(chunk);
    }
  }

  /** A transaction past its journal: each chunk under a savepoint, to roll back to on a refused row. */
  private async applySaved(chunk: WriteChunk): Promise<DeadLetter[]> {
    await this.send(plain('SAVEPOINT millrace_chunk'));
    let letters: DeadLetter[] = [];
    try {
      await this.executeChunk(chunk);
    } catch (error) {
      if (!isRowDataError(error)) throw error;
      await this.send(plain('ROLLBACK TO SAVEPOINT millrace_chunk'));
      letters = await this.executeRowByRow(chunk);
    }
    await this.send(plain('RELEASE SAVEPOINT millrace_chunk'));
    return letters;
  }

  /** Rolls the aborted transaction back and runs again what it had done before the failure. */
  private async replay(journal: readonly PgStatement[]): Promise<void> {
    this.logger.debug({ statements: journal.length }, 'replaying the CRM transaction');
    await this.send(plain('ROLLBACK'));
    this.inTransaction = false;
    await this.send(plain('BEGIN'));
    this.inTransaction = true;
    for (const statement of journal) await this.send(statement);
  }

  /**
   * Runs a read inside the open transaction (opening one), e.g. a lock on the stream's checkpoint
   * row that decides whether the transaction's writes may commit. Not kept for a replay: only
   * meant after the transaction's last write.
   */
  read<R extends object>(statement: PgStatement): Promise<R[]> {
    return this.track(
      (async () => {
        await this.begin();
        return (await this.send<R>(statement)).rows;
      })(),
    );
  }

  /**
   * Commits the open transaction, writing the checkpoint first when given: the rows and the
   * position become durable together, or not at all.
   */
  commit(extra: { readonly checkpoint?: Checkpoint } = {}): Promise<void> {
    return this.track(this.commitTransaction(extra.checkpoint));
  }

  private async commitTransaction(checkpoint: Checkpoint | undefined): Promise<void> {
    await this.begin();
    if (checkpoint) {
      const place = this.describePosition(checkpoint.lsn);
      await this.send(writeCheckpoint(checkpoint.slot, checkpoint.lsn, place, checkpoint.gtid));
    }
    const result = await this.send(plain('COMMIT'));
    this.inTransaction = false;
    this.journal = [];
    this.journalSize = 0;
    // PostgreSQL answers COMMIT of a failed transaction with a rollback, not an error.
    if (result.command !== undefined && result.command !== 'COMMIT') {
      throw new RuntimeFailure(
        'WRITE_ABANDONED',
        'the CRM rolled back the transaction at COMMIT: a statement of it had failed',
      );
    }
  }

  /**
   * Abandons the open transaction (nothing of it was committed or acknowledged). A write still in
   * flight is settled first, and sends nothing after the statement it is waiting on, so no
   * statement of this transaction reaches the server after the ROLLBACK. The sink is done then:
   * whatever is asked of it afterwards fails without being sent.
   */
  async rollback(): Promise<void> {
    this.abandoned = true;
    await this.inflight;
    if (!this.inTransaction) return;
    this.inTransaction = false;
    await this.client.query('ROLLBACK').catch(() => undefined);
  }

  /**
   * Ends the sink: rolls back whatever is open and detaches the session from the replication
   * origin, so another session may take it. The client stays open (its owner ends it).
   */
  async release(): Promise<void> {
    await this.rollback();
    if (!this.prepared) return;
    this.prepared = false;
    await this.client.query(resetOriginSession.text).catch((error: unknown) => {
      // A lost session has let go of the origin anyway.
      this.logger.debug({ err: error }, 'replication origin reset failed');
    });
  }

  private track<T>(operation: Promise<T>): Promise<T> {
    // Settled to undefined, so finished writes are not kept alive along the chain.
    this.inflight = Promise.allSettled([this.inflight, operation]).then(() => undefined);
    return operation;
  }

  private async begin(): Promise<void> {
    if (!this.prepared) {
      await this.send(createOrigin(this.origin));
      await this.send(setupOriginSession(this.origin));
      this.prepared = true;
    }
    if (this.inTransaction) return;
    await this.send(plain('BEGIN'));
    this.inTransaction = true;
  }

  /** Sends one statement, unless the transaction was abandoned. */
  private async send<R extends object = Record<string, unknown>>(
    statement: PgStatement,
  ): Promise<{ command?: string; rows: R[] }> {
    if (this.abandoned) {
      throw new RuntimeFailure(
        'WRITE_ABANDONED',
        'the CRM transaction was rolled back while this write was in flight',
      );
    }
    return statement.values.length === 0
      ? this.client.query<R>(statement.text)
      : this.client.query<R>(statement.text, statement.values);
  }

  /** Sends a statement of the transaction's writes, keeping it for a replay. */
  private async write(statement: PgStatement): Promise<void> {
    await this.send(statement);
    if (!this.journal) return;
    this.journal.push(statement);
    this.journalSize += statementBytes(statement);
  }

  private async executeChunk(chunk: WriteChunk): Promise<void> {
    for (const reset of chunk.resets)
      await this.write(resetTable(reset.table, reset.set, reset.owner));
    for (const table of chunk.tables) {
      for (const statement of tableStatements(table)) await this.write(statement);
    }
  }

  /** Applies a chunk one write at a time, each under a savepoint; returns the refused writes. */
  private async executeRowByRow(chunk: WriteChunk): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    const attempt = async (
      statement: PgStatement,
      origin: Origin,
      key: Readonly<Record<string, unknown>>,
    ) => {
      await this.send(plain('SAVEPOINT millrace_row'));
      try {
        await this.write(statement);
      } catch (error) {
        if (!isRowDataError(error)) throw error;
        await this.send(plain('ROLLBACK TO SAVEPOINT millrace_row'));
        letters.push(this.refuse(origin, key, error));
      }
      await this.send(plain('RELEASE SAVEPOINT millrace_row'));
    };
    for (const reset of chunk.resets) {
      await attempt(resetTable(reset.table, reset.set, reset.owner), reset.origin, {});
    }
    for (const table of chunk.tables) {
      for (const copy of table.copies ?? []) {
        const key = targetKeyRecord(table.keyColumns, copy.to);
        await attempt(copyStatement(table, copy), copy.origin, key);
      }
      for (const [kind, writes] of writeKinds(table)) {
        for (const write of writes) {
          const key = targetKeyRecord(table.keyColumns, write.key);
          await attempt(singleWriteStatement(table, kind, write), write.origin, key);
        }
      }
    }
    return letters;
  }

  private refuse(
    origin: Origin,
    key: Readonly<Record<string, unknown>>,
    error: unknown,
  ): DeadLetter {
    return refuseRow(this.onBadRow, 'the CRM', origin, key, error);
  }

  private async recordDeadLetters(letters: readonly DeadLetter[]): Promise<void> {
    for (const statement of deadLetterStatements(letters, statementBudget, (lsn) =>
      this.spell(lsn),
    ))
      await this.write(statement);
    for (const letter of letters) {
      this.logger.warn(
        {
          mapping: letter.origin.mapping,
          position: letter.origin.lsn === null ? undefined : this.spell(letter.origin.lsn),
          operation: letter.origin.operation,
          key: letter.key,
          error: letter.error,
        },
        'row sent to millrace.dead_letters',
      );
      this.onDeadLetter?.(letter);
    }
  }

  private spell(lsn: bigint): string {
    const place = this.describePosition(lsn);
    return `${place.file}:${place.position}`;
  }
}

/** Approximate bytes a kept statement holds. */
function statementBytes(statement: PgStatement): number {
  let bytes = statement.text.length;
  for (const value of statement.values) {
    bytes += 8;
    if (typeof value === 'string') bytes += value.length;
    else if (Buffer.isBuffer(value)) bytes += value.length;
  }
  return bytes;
}

function writeKinds(
  table: TableWrites,
): [kind: 'delete' | 'update' | 'upsert', writes: readonly (KeyedWrite | RowWrite)[]][] {
  return [
    ['delete', table.deletes],
    ['update', table.updates],
    ['upsert', table.upserts],
  ];
}
