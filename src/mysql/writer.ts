import { isRowDataError } from '../errors/classify-error.js';
import { describeError, RuntimeFailure } from '../errors/millrace-error.js';
import type { Logger } from '../log/logger.js';
import type { Checkpoint, ChunkStats, Sink } from '../pipeline/sink.js';
import { formatLsn } from '../util/lsn.js';
import { targetKeyRecord } from '../values/key-text.js';
import { rowBytes } from '../writes/row-bytes.js';
import type {
  DeadLetter,
  KeyedWrite,
  Origin,
  RowWrite,
  TableWrites,
  WriteChunk,
} from '../writes/write-chunk.js';
import type { MysqlConnection } from './mysql-client.js';
import { writeCheckpoint } from './sql/checkpoint.js';
import { deadLetterStatements } from './sql/insert-dead-letters.js';
import type { Statement } from './sql/quote.js';
import { resetTable } from './sql/reset-table.js';
import {
  copyStatement,
  singleWriteStatement,
  statementBudget,
  tableStatements,
} from './write-statements.js';

/**
 * Strict mode turns a value that does not fit into an error instead of silent truncation.
 * `skip_replication` marks every event group this session writes (rows, checkpoint, dead
 * letters) in the MariaDB binlog, so the return path's binlog reader, which asks the server to
 * leave marked groups out, never sends millrace's own writes back to the CRM (no echo). It needs
 * no privilege; the `/*M! … *\/` part runs on MariaDB only (MySQL has no such variable).
 */
const sessionSql = [
  "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
  "SET SESSION time_zone = '+00:00' /*M!, skip_replication = 1 */",
  'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
];

/** Room left in a packet for the statement around one row's values. */
const packetMargin = 4 * 1024;

export type OnBadRow = 'deadletter' | 'stop';

interface WriterOptions {
  readonly connection: MysqlConnection;
  readonly logger: Logger;
  /** What to do with a row the target refuses: record it and go on, or stop. */
  readonly onBadRow: OnBadRow;
  /** Called for each dead letter written (metrics). */
  readonly onDeadLetter?: (letter: DeadLetter) => void;
}

/**
 * The one writer: stream, backfill and audit repair all apply their rows through it. Chunks go
 * into one open MySQL transaction that `commit` closes together with the checkpoint row, so the
 * target never holds rows without the offset that produced them, nor the offset without its rows.
 */
export class TargetWriter implements Sink {
  private readonly connection: MysqlConnection;
  private readonly logger: Logger;
  private readonly onBadRow: OnBadRow;
  private readonly onDeadLetter: ((letter: DeadLetter) => void) | undefined;
  private inTransaction = false;
  private prepared = false;
  /** Every apply or commit in flight, settled either way: a rollback waits for them. */
  private inflight: Promise<unknown> = Promise.resolve();
  /**
   * Set by a rollback, for good: the rest of a write in flight, and a commit that comes after
   * (the caller's next step, already on its way), must not run, since after the ROLLBACK they
   * would run in autocommit (and a COMMIT would make a checkpoint durable without its rows).
   */
  private abandoned = false;
  /** The server's max_allowed_packet, read when the session is prepared. */
  private maxPacket = 16 * 1024 * 1024;
  private budget = statementBudget(this.maxPacket);

  constructor(options: WriterOptions) {
    this.connection = options.connection;
    this.logger = options.logger;
    this.onBadRow = options.onBadRow;
    this.onDeadLetter = options.onDeadLetter;
  }

  /** Applies a chunk inside the open transaction (opening one if needed). */
  apply(chunk: WriteChunk): Promise<ChunkStats> {
    return this.track(this.applyChunk(chunk));
  }

  private async applyChunk(chunk: WriteChunk): Promise<ChunkStats> {
    await this.begin();
    const screened = this.screenOversized(chunk);
    chunk = screened.chunk;
    let letters: readonly DeadLetter[] = [...chunk.deadLetters, ...screened.letters];
    await this.run({ sql: 'SAVEPOINT millrace_chunk', values: [] });
    try {
      await this.executeChunk(chunk);
    } catch (error) {
      if (!isRowDataError(error)) throw error;
      await this.run({ sql: 'ROLLBACK TO SAVEPOINT millrace_chunk', values: [] });
      letters = [...letters, ...(await this.executeRowByRow(chunk))];
    }
    if (letters.length > 0) await this.recordDeadLetters(letters);
    return {
      upserted: chunk.tables.reduce((sum, table) => sum + table.upserts.length, 0),
      deleted: chunk.tables.reduce((sum, table) => sum + table.deletes.length, 0),
      updated: chunk.tables.reduce((sum, table) => sum + table.updates.length, 0),
      deadLetters: letters.length,
    };
  }

  /**
   * Commits the open transaction, writing the checkpoint first when given: the rows and the
   * offset become durable together, or not at all. `statements` (a backfill's progress row, an
   * audit's record) commit with them too.
   */
  commit(
    extra: { readonly checkpoint?: Checkpoint; readonly statements?: readonly Statement[] } = {},
  ): Promise<void> {
    return this.track(this.commitTransaction(extra));
  }

  private async commitTransaction(extra: {
    readonly checkpoint?: Checkpoint;
    readonly statements?: readonly Statement[];
  }): Promise<void> {
    await this.begin();
    for (const statement of extra.statements ?? []) await this.run(statement);
    const { checkpoint } = extra;
    if (checkpoint) {
      await this.run(writeCheckpoint(checkpoint.slot, checkpoint.lsn, formatLsn(checkpoint.lsn)));
    }
    await this.run({ sql: 'COMMIT', values: [] });
    this.inTransaction = false;
  }

  /**
   * Abandons the open transaction (nothing of it was committed or acknowledged). A write still
   * in flight is settled first, and sends nothing after the statement it is waiting on, so no
   * statement of this transaction reaches the server after the ROLLBACK. The writer is done
   * then: whatever is asked of it afterwards fails without being sent.
   */
  async rollback(): Promise<void> {
    this.abandoned = true;
    await this.inflight;
    if (!this.inTransaction) return;
    this.inTransaction = false;
    await this.connection.query('ROLLBACK').catch(() => undefined);
  }

  private track<T>(operation: Promise<T>): Promise<T> {
    // Settled to undefined, so finished writes are not kept alive along the chain.
    this.inflight = Promise.allSettled([this.inflight, operation]).then(() => undefined);
    return operation;
  }

  private async begin(): Promise<void> {
    if (!this.prepared) {
      for (const sql of sessionSql) await this.run({ sql, values: [] });
      const rows = await this.run({ sql: 'SELECT @@max_allowed_packet AS packet', values: [] });
      this.maxPacket = Number((rows as { packet: number | string }[])[0]?.packet ?? this.maxPacket);
      this.budget = statementBudget(this.maxPacket);
      this.prepared = true;
    }
    if (this.inTransaction) return;
    await this.run({ sql: 'START TRANSACTION', values: [] });
    this.inTransaction = true;
  }

  /** Sends one statement, unless the transaction was abandoned; resolves to its rows. */
  private async run(statement: Statement): Promise<unknown> {
    if (this.abandoned) {
      throw new RuntimeFailure(
        'WRITE_ABANDONED',
        'the target transaction was rolled back while this write was in flight',
      );
    }
    const [rows] = await this.connection.query(statement.sql, statement.values as unknown[]);
    return rows;
  }

  private async executeChunk(chunk: WriteChunk): Promise<void> {
    for (const reset of chunk.resets)
      await this.run(resetTable(reset.table, reset.set, reset.owner));
    for (const table of chunk.tables) {
      for (const statement of tableStatements(table, this.budget)) await this.run(statement);
    }
  }

  /** Re-applies a failed chunk one write at a time; returns dead letters for refused writes. */
  private async executeRowByRow(chunk: WriteChunk): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    const attempt = async (
      statement: Statement,
      origin: Origin,
      key: Readonly<Record<string, unknown>>,
    ) => {
      await this.run({ sql: 'SAVEPOINT millrace_row', values: [] });
      try {
        await this.run(statement);
      } catch (error) {
        if (!isRowDataError(error)) throw error;
        await this.run({ sql: 'ROLLBACK TO SAVEPOINT millrace_row', values: [] });
        letters.push(this.refuse(origin, key, error));
      }
    };
    for (const reset of chunk.resets) {
      await attempt(resetTable(reset.table, reset.set, reset.owner), reset.origin, {});
    }
    for (const table of chunk.tables) {
      for (const copy of table.copies ?? []) {
        await attempt(
          copyStatement(table, copy),
          copy.origin,
          targetKeyRecord(table.keyColumns, copy.to),
        );
      }
      for (const [kind, writes] of writeKinds(table)) {
        for (const write of writes) {
          await attempt(
            singleWriteStatement(table, kind, write),
            write.origin,
            targetKeyRecord(table.keyColumns, write.key),
          );
        }
      }
    }
    return letters;
  }

  /**
   * Rows whose statement alone would pass the server's max_allowed_packet become dead letters
   * before anything is sent: MySQL answers such a packet by dropping the connection, and the
   * same batch would then fail forever. Only rows near the statement budget are measured
   * exactly (formatted as the driver will send them).
   */
  private screenOversized(chunk: WriteChunk): { chunk: WriteChunk; letters: DeadLetter[] } {
    const letters: DeadLetter[] = [];
    const tables = chunk.tables.map((table) => {
      const fits = (kind: 'update' | 'upsert') => (write: RowWrite) => {
        if (rowBytes(write.row) <= this.budget) return true;
        const statement = singleWriteStatement(table, kind, write);
        const bytes = Buffer.byteLength(
          this.connection.format(statement.sql, [...statement.values]),
        );
        if (bytes <= this.maxPacket - packetMargin) return true;
        const key = targetKeyRecord(table.keyColumns, write.key);
        const error = new RuntimeFailure(
          'ROW_TOO_LARGE',
          `mapping ${write.origin.mapping}: the row ${JSON.stringify(key)} is ${bytes} bytes as SQL, over the MES's max_allowed_packet of ${this.maxPacket} bytes; raise max_allowed_packet or narrow the mapping`,
        );
        letters.push(this.refuse(write.origin, key, error));
        return false;
      };
      const upserts = table.upserts.filter(fits('upsert'));
      const updates = table.updates.filter(fits('update'));
      return upserts.length === table.upserts.length && updates.length === table.updates.length
        ? table
        : { ...table, upserts, updates };
    });
    return letters.length === 0 ? { chunk, letters } : { chunk: { ...chunk, tables }, letters };
  }

  private refuse(
    origin: Origin,
    key: Readonly<Record<string, unknown>>,
    error: unknown,
  ): DeadLetter {
    const message = describeError(error);
    if (this.onBadRow === 'stop') {
      throw new RuntimeFailure(
        'BAD_ROW',
        `mapping ${origin.mapping}: the target refused a row (${message}); stopped without acknowledging it (--on-error stop)`,
        { cause: error, context: { mapping: origin.mapping, key } },
      );
    }
    return { origin, key, error: message };
  }

  private async recordDeadLetters(letters: readonly DeadLetter[]): Promise<void> {
    for (const part of deadLetterStatements(letters, this.budget)) await this.run(part);
    for (const letter of letters) {
      this.logger.warn(
        {
          mapping: letter.origin.mapping,
          lsn: letter.origin.lsn === null ? undefined : formatLsn(letter.origin.lsn),
          operation: letter.origin.operation,
          key: letter.key,
          error: letter.error,
        },
        'row sent to millrace_dead_letters',
      );
      this.onDeadLetter?.(letter);
    }
  }
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
