import { isRowDataError } from '../errors/classify-error.js';
import { describeError, RuntimeFailure } from '../errors/millrace-error.js';
import type { Logger } from '../log/logger.js';
import type { TargetRow } from '../mapping/compiled-mapping.js';
import { formatLsn } from '../util/lsn.js';
import type { TargetValue } from '../values/column-types.js';
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
import { deleteKeys } from './sql/delete-keys.js';
import { insertDeadLetters } from './sql/insert-dead-letters.js';
import type { Statement } from './sql/quote.js';
import { resetTable } from './sql/reset-table.js';
import { updateKeys } from './sql/update-keys.js';
import { upsertRows } from './sql/upsert-rows.js';

/** Strict mode turns a value that does not fit into an error instead of silent truncation. */
const sessionSql = [
  "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
  "SET SESSION time_zone = '+00:00'",
  'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
];

/** Rows per multi-row statement; also bounded by placeholders (MySQL allows 65,535). */
const maxRowsPerStatement = 2_000;
const maxParamsPerStatement = 60_000;

export type OnBadRow = 'deadletter' | 'stop';

export interface WriterOptions {
  readonly connection: MysqlConnection;
  readonly logger: Logger;
  /** What to do with a row the target refuses: record it and go on, or stop. */
  readonly onBadRow: OnBadRow;
  /** Called for each dead letter written (metrics). */
  readonly onDeadLetter?: (letter: DeadLetter) => void;
}

export interface ChunkStats {
  readonly upserted: number;
  readonly deleted: number;
  readonly updated: number;
  readonly deadLetters: number;
}

/**
 * The one writer: stream, backfill and audit repair all apply their rows through it. Chunks go
 * into one open MySQL transaction that `commit` closes together with the checkpoint row, so the
 * target never holds rows without the offset that produced them, nor the offset without its rows.
 */
export class TargetWriter {
  private readonly connection: MysqlConnection;
  private readonly logger: Logger;
  private readonly onBadRow: OnBadRow;
  private readonly onDeadLetter: ((letter: DeadLetter) => void) | undefined;
  private inTransaction = false;
  private prepared = false;

  constructor(options: WriterOptions) {
    this.connection = options.connection;
    this.logger = options.logger;
    this.onBadRow = options.onBadRow;
    this.onDeadLetter = options.onDeadLetter;
  }

  /** Applies a chunk inside the open transaction (opening one if needed). */
  async apply(chunk: WriteChunk): Promise<ChunkStats> {
    await this.begin();
    await this.run({ sql: 'SAVEPOINT millrace_chunk', values: [] });
    let letters: readonly DeadLetter[] = chunk.deadLetters;
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
  async commit(
    extra: {
      readonly checkpoint?: { readonly slot: string; readonly lsn: bigint };
      readonly statements?: readonly Statement[];
    } = {},
  ): Promise<void> {
    await this.begin();
    for (const statement of extra.statements ?? []) await this.run(statement);
    const { checkpoint } = extra;
    if (checkpoint) {
      await this.run(writeCheckpoint(checkpoint.slot, checkpoint.lsn, formatLsn(checkpoint.lsn)));
    }
    await this.run({ sql: 'COMMIT', values: [] });
    this.inTransaction = false;
  }

  /** Abandons the open transaction (nothing of it was committed or acknowledged). */
  async rollback(): Promise<void> {
    if (!this.inTransaction) return;
    this.inTransaction = false;
    await this.run({ sql: 'ROLLBACK', values: [] }).catch(() => undefined);
  }

  private async begin(): Promise<void> {
    if (!this.prepared) {
      for (const sql of sessionSql) await this.run({ sql, values: [] });
      this.prepared = true;
    }
    if (this.inTransaction) return;
    await this.run({ sql: 'START TRANSACTION', values: [] });
    this.inTransaction = true;
  }

  private async run(statement: Statement): Promise<void> {
    await this.connection.query(statement.sql, statement.values as unknown[]);
  }

  private async executeChunk(chunk: WriteChunk): Promise<void> {
    for (const reset of chunk.resets) await this.run(resetTable(reset.table, reset.set));
    for (const table of chunk.tables) {
      for (const statement of deleteStatements(table, table.deletes)) await this.run(statement);
      for (const statement of updateStatements(table, table.updates)) await this.run(statement);
      for (const statement of upsertStatements(table, table.upserts)) await this.run(statement);
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
      await attempt(resetTable(reset.table, reset.set), reset.origin, {});
    }
    for (const table of chunk.tables) {
      for (const write of table.deletes) {
        await attempt(
          deleteKeys(table.table, table.keyColumns, [write.key]),
          write.origin,
          keyRecord(table, write),
        );
      }
      for (const write of table.updates) {
        await attempt(
          updateKeys(table.table, table.keyColumns, write.row, [write.key]),
          write.origin,
          keyRecord(table, write),
        );
      }
      for (const write of table.upserts) {
        const columns = Object.keys(write.row);
        await attempt(
          upsertRows(table.table, columns, table.keyColumns, [write.row]),
          write.origin,
          keyRecord(table, write),
        );
      }
    }
    return letters;
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
    await this.run(insertDeadLetters(letters));
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

function keyRecord(table: TableWrites, write: KeyedWrite): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  table.keyColumns.forEach((column, index) => {
    const value = write.key[index];
    record[column] = Buffer.isBuffer(value)
      ? `\\x${value.toString('hex')}`
      : typeof value === 'bigint'
        ? value.toString()
        : value;
  });
  return record;
}

function* slices<T>(items: readonly T[], size: number): Generator<readonly T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}

function rowsPerStatement(columnCount: number): number {
  return Math.max(
    1,
    Math.min(maxRowsPerStatement, Math.floor(maxParamsPerStatement / Math.max(1, columnCount))),
  );
}

function* deleteStatements(
  table: TableWrites,
  deletes: readonly KeyedWrite[],
): Generator<Statement> {
  if (deletes.length === 0) return;
  for (const part of slices(deletes, rowsPerStatement(table.keyColumns.length))) {
    yield deleteKeys(
      table.table,
      table.keyColumns,
      part.map((write) => write.key),
    );
  }
}

/** Rows grouped by the set of columns they set, so a partial row never nulls a column. */
function* upsertStatements(table: TableWrites, upserts: readonly RowWrite[]): Generator<Statement> {
  if (upserts.length === 0) return;
  const groups = new Map<string, { columns: string[]; rows: TargetRow[] }>();
  for (const write of upserts) {
    const columns = Object.keys(write.row);
    const signature = columns.join('\u0000');
    let group = groups.get(signature);
    if (!group) {
      group = { columns, rows: [] };
      groups.set(signature, group);
    }
    group.rows.push(write.row);
  }
  for (const { columns, rows } of groups.values()) {
    for (const part of slices(rows, rowsPerStatement(columns.length))) {
      yield upsertRows(table.table, columns, table.keyColumns, part);
    }
  }
}

/** Update-only writes grouped by identical SET values (soft deletes of one batch share them). */
function* updateStatements(table: TableWrites, updates: readonly RowWrite[]): Generator<Statement> {
  if (updates.length === 0) return;
  const groups = new Map<string, { set: TargetRow; keys: (readonly TargetValue[])[] }>();
  for (const write of updates) {
    const signature = JSON.stringify(write.row, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
    let group = groups.get(signature);
    if (!group) {
      group = { set: write.row, keys: [] };
      groups.set(signature, group);
    }
    group.keys.push(write.key);
  }
  for (const { set, keys } of groups.values()) {
    for (const part of slices(keys, rowsPerStatement(table.keyColumns.length))) {
      yield updateKeys(table.table, table.keyColumns, set, part);
    }
  }
}
