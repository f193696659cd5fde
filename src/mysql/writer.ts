import { isRowDataError } from '../errors/classify-error.js';
import { RuntimeFailure } from '../errors/millrace-error.js';
import type { Logger } from '../log/logger.js';
import type { Checkpoint, ChunkStats, Sink } from '../pipeline/sink.js';
import { formatLsn } from '../util/lsn.js';
import { targetKeyRecord } from '../values/key-text.js';
import { type OnBadRow, refuseRow } from '../writes/refuse-row.js';
import type { DeadLetter, Origin, WriteChunk } from '../writes/write-chunk.js';
import { type MysqlConnection, statementsRunBefore } from './mysql-client.js';
import { writeCheckpoint } from './sql/checkpoint.js';
import { deadLetterStatements } from './sql/insert-dead-letters.js';
import type { Statement } from './sql/quote.js';
import {
  chunkStatements,
  type OnOversized,
  type SingleWrite,
  statementLimits,
  type WriteStatement,
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
  private limits = statementLimits(this.maxPacket);

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

  /**
   * No savepoint: statements go out in packets, and a statement the server refuses undoes only
   * itself (InnoDB rolls back a failed statement, not the transaction, for every row-data
   * error), while those before it stand and those after it in its packet do not run. Only then
   * are that statement's writes sent one at a time, to find the refused row; the rest follows.
   */
  private async applyChunk(chunk: WriteChunk): Promise<ChunkStats> {
    await this.prepare();
    const letters: DeadLetter[] = [...chunk.deadLetters];
    const oversized: OnOversized = (write, table, bytes) => {
      const key = targetKeyRecord(table.keyColumns, write.key);
      const error = new RuntimeFailure(
        'ROW_TOO_LARGE',
        `mapping ${write.origin.mapping}: the row ${JSON.stringify(key)} is ${bytes} bytes as SQL, over the MES's max_allowed_packet of ${this.maxPacket} bytes; raise max_allowed_packet or narrow the mapping`,
      );
      letters.push(this.refuse(write.origin, key, error));
    };
    for (const packet of this.packets(chunkStatements(chunk, this.limits, oversized))) {
      letters.push(...(await this.sendPacket(packet)));
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
   * Opens the transaction for a caller that writes on this session itself inside it (the
   * backfill's LOAD DATA, which commits through `commit`): prepares the session and returns the
   * statements the caller sends in front of its own, in the same packet (START TRANSACTION, or
   * none when a transaction is open). The writer counts the transaction as open from here on,
   * as it does for its own packets (a ROLLBACK after a failure is harmless either way).
   */
  opening(): Promise<readonly string[]> {
    return this.track(
      (async () => {
        await this.prepare();
        this.refuseIfAbandoned();
        if (this.inTransaction) return [];
        this.inTransaction = true;
        return ['START TRANSACTION'];
      })(),
    );
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
    await this.prepare();
    // One round trip: the statements go as the driver would format them, ahead of the COMMIT.
    const closing = (extra.statements ?? []).map(({ sql, values }) =>
      values.length > 0 ? this.connection.format(sql, [...values]) : sql,
    );
    const { checkpoint } = extra;
    if (checkpoint) {
      closing.push(writeCheckpoint(checkpoint.slot, checkpoint.lsn, formatLsn(checkpoint.lsn)).sql);
    }
    closing.push('COMMIT');
    await this.sendPacket(closing.map((sql) => ({ sql, bytes: Buffer.byteLength(sql) })));
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

  /** The session's settings, once: before its first transaction. */
  private async prepare(): Promise<void> {
    if (this.prepared) return;
    for (const sql of sessionSql) await this.run({ sql, values: [] });
    const rows = await this.run({ sql: 'SELECT @@max_allowed_packet AS packet', values: [] });
    this.maxPacket = Number((rows as { packet: number | string }[])[0]?.packet ?? this.maxPacket);
    this.limits = statementLimits(this.maxPacket);
    this.prepared = true;
  }

  /** Sends one statement, unless the transaction was abandoned; resolves to its rows. */
  private async run(statement: Statement): Promise<unknown> {
    this.refuseIfAbandoned();
    const { sql, values } = statement;
    // No values: nothing for the driver to scan the text for.
    const [rows] = await (values.length > 0
      ? this.connection.query(sql, [...values])
      : this.connection.query(sql));
    return rows;
  }

  private refuseIfAbandoned(): void {
    if (this.abandoned) {
      throw new RuntimeFailure(
        'WRITE_ABANDONED',
        'the target transaction was rolled back while this write was in flight',
      );
    }
  }

  /** Statements in packets of at most `statementBytes` each (a larger statement alone). */
  private *packets(statements: Iterable<WriteStatement>): Generator<WriteStatement[]> {
    let packet: WriteStatement[] = [];
    let bytes = 0;
    for (const statement of statements) {
      if (packet.length > 0 && bytes + statement.bytes + 2 > this.limits.statementBytes) {
        yield packet;
        packet = [];
        bytes = 0;
      }
      packet.push(statement);
      bytes += statement.bytes + 2;
    }
    if (packet.length > 0) yield packet;
  }

  /**
   * Sends a packet, behind a START TRANSACTION when none is open. A statement refused for one
   * row's data is retried one write at a time (see applyChunk) and the packet's rest sent after
   * it; returns the refused writes as dead letters.
   */
  private async sendPacket(statements: readonly WriteStatement[]): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    let rest = statements;
    for (;;) {
      const opening = !this.inTransaction;
      const sql = rest.map((statement) => statement.sql);
      if (opening) sql.unshift('START TRANSACTION');
      // Open from here on: a ROLLBACK after a failure of this packet is harmless either way.
      this.inTransaction = true;
      const failure = await this.sendAll(sql);
      if (failure === undefined) return letters;
      const failedAt = failure.at - (opening ? 1 : 0);
      const failed = rest[failedAt];
      if (!failed?.singles || !isRowDataError(failure.error)) throw failure.error;
      letters.push(...(await this.oneByOne(failed.singles())));
      rest = rest.slice(failedAt + 1);
      if (rest.length === 0) return letters;
    }
  }

  /**
   * Sends statements in order, in one round trip on a connection with multi-statement packets,
   * otherwise one by one; stops at the first that fails and says which.
   */
  private async sendAll(
    sql: readonly string[],
  ): Promise<{ at: number; error: unknown } | undefined> {
    if (this.connection.queryAll) {
      this.refuseIfAbandoned();
      try {
        await this.connection.queryAll(sql);
        return undefined;
      } catch (error) {
        const at = statementsRunBefore(error);
        if (at === undefined) throw error;
        return { at, error };
      }
    }
    for (let at = 0; at < sql.length; at++) {
      try {
        await this.run({ sql: sql[at]!, values: [] });
      } catch (error) {
        return { at, error };
      }
    }
    return undefined;
  }

  /** The writes of a refused statement, one statement each: each undoes only itself if refused. */
  private async oneByOne(writes: readonly SingleWrite[]): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    for (const write of writes) {
      try {
        await this.run({ sql: write.sql, values: [] });
      } catch (error) {
        if (!isRowDataError(error)) throw error;
        letters.push(this.refuse(write.origin, write.key, error));
      }
    }
    return letters;
  }

  private refuse(
    origin: Origin,
    key: Readonly<Record<string, unknown>>,
    error: unknown,
  ): DeadLetter {
    return refuseRow(this.onBadRow, 'the target', origin, key, error);
  }

  private async recordDeadLetters(letters: readonly DeadLetter[]): Promise<void> {
    const statements = [...deadLetterStatements(letters, this.limits.statementBytes / 4)].map(
      ({ sql }) => ({ sql, bytes: Buffer.byteLength(sql) }),
    );
    for (const packet of this.packets(statements)) await this.sendPacket(packet);
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
