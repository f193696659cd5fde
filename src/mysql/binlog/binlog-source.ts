import { markError } from '../../errors/error-origin.js';
import { describeError, isMillraceError, RuntimeFailure } from '../../errors/millrace-error.js';
import type { Logger } from '../../log/logger.js';
import type { ChangeHandler, ChangeSource } from '../../pipeline/change-source.js';
import type { SourceEvent } from '../../pipeline/source-event.js';
import type { Lsn } from '../../util/lsn.js';
import { type BinlogQuery, binlogEnd, listBinlogFiles, resumeFile } from './binlog-files.js';
import { encodeBinlogPosition, parseBinlogFileName } from './binlog-position.js';
import type {
  BinlogColumn,
  BinlogEvent,
  BinlogGtid,
  BinlogReader,
  BinlogRows,
  BinlogStatement,
} from './binlog-reader.js';
import { UnsupportedValueError } from './binlog-values.js';
import { statementKind, truncatedTable } from './statement-kind.js';

export interface BinlogSourceOptions {
  /** The MES database whose tables are read; events of other databases are left out. */
  readonly database: string;
  /** Bare names of the tables the to-crm mappings read. */
  readonly tables: readonly string[];
  /** Where to start: a commit's encoded position (the checkpoint), or 0 for the server's current end. */
  readonly startLsn: Lsn;
  /** A connection for the server's binlog file list (BINLOG MONITOR). */
  readonly control: BinlogQuery;
  /** Makes the replica reader (the zongji adapter in production, anything in tests). */
  readonly reader: BinlogReader;
  readonly logger: Logger;
  /**
   * Least time between two keepalives handed on for positions that carry nothing for the tables
   * read (another table's commit, a heartbeat), in milliseconds; a new file's start always goes.
   */
  readonly keepaliveMs?: number;
}

interface OpenGroup {
  readonly gtid: string;
  readonly sequence: number;
  /** Encoded position of the group's GTID event: BeginEvent.finalLsn. */
  readonly start: Lsn;
  readonly standalone: boolean;
  /** A begin went out (the group touched a table read). */
  begun: boolean;
  /** The first table read in the group, for messages. */
  table?: string;
}

/**
 * The MES side of the return path: the MariaDB binlog, read as a replica, as SourceEvents.
 * A transaction is handed on at its XID, never before, and its commit carries the position just
 * after that event (encoded, see binlog-position.ts): the only place a restart can resume
 * without splitting a transaction. The server leaves out everything millrace itself wrote
 * (see zongji-reader.ts, skip_replication), so nothing comes back.
 */
export class BinlogSource implements ChangeSource {
  private readonly options: BinlogSourceOptions;
  private readonly tables: ReadonlySet<string>;
  private handler: ChangeHandler = { event: () => undefined, fail: () => undefined };
  private fileIndex = -1;
  private group: OpenGroup | undefined;
  /** The columns last announced per table (by identity first: the reader reuses the array). */
  private readonly announced = new Map<string, readonly BinlogColumn[]>();
  /** When the last commit or keepalive was handed on, and its position. */
  private lastHandedAt = 0;
  private lastHanded: Lsn = 0n;
  private stopped = false;

  constructor(options: BinlogSourceOptions) {
    this.options = options;
    this.tables = new Set(options.tables);
  }

  async start(handler: ChangeHandler): Promise<void> {
    this.handler = handler;
    const files = await listBinlogFiles(this.options.control);
    const startLsn = this.options.startLsn === 0n ? binlogEnd(files) : this.options.startLsn;
    const from = resumeFile(files, startLsn);
    this.options.logger.info({ file: from.file, position: from.offset }, 'reading the MES binlog');
    await this.options.reader
      .start(from, {
        event: (event) => this.receive(event),
        fail: (error) => this.fail(error),
      })
      .catch((error: unknown) => {
        throw explainStartFailure(error, from);
      });
  }

  /** Nothing to tell the server: a replica's position is its own; the checkpoint is the target's. */
  acknowledge(_position: Lsn): void {}

  pause(paused: boolean): void {
    this.options.reader.pause(paused);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.options.reader.stop();
  }

  private fail(error: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    void this.options.reader.stop();
    // A reader error that is not ours is the connection's (lost, refused, timed out).
    this.handler.fail(isMillraceError(error) ? error : markError(error, 'mes', true));
  }

  private receive(event: BinlogEvent): void {
    if (this.stopped) return;
    try {
      this.handle(event);
    } catch (error) {
      this.fail(
        error instanceof UnsupportedValueError
          ? new RuntimeFailure('BINLOG_UNSUPPORTED', error.message, { cause: error })
          : isMillraceError(error)
            ? error
            : new RuntimeFailure(
                'BINLOG_DECODE',
                `cannot decode the MES binlog: ${describeError(error)}`,
                {
                  cause: error,
                },
              ),
      );
    }
  }

  private handle(event: BinlogEvent): void {
    switch (event.kind) {
      case 'rotate':
        this.fileIndex = fileIndexOf(event.file);
        // Groups never span files: a new file starts with nothing open.
        this.keepalive(this.position(event.offset), true);
        return;
      case 'gtid':
        this.openGroup(event);
        return;
      case 'rows':
        this.rows(event);
        return;
      case 'xid':
        this.commit(event.end, event.timestampMs);
        return;
      case 'query':
        this.statement(event);
        return;
      case 'heartbeat':
        if (event.end < 4) return;
        this.keepalive(
          encodeBinlogPosition({ fileIndex: fileIndexOf(event.file), offset: event.end }),
          false,
        );
        return;
    }
  }

  /**
   * Hands on that the stream stands at `lsn` with nothing open, like a replication slot's
   * keepalive: everything before it that touches the tables read was handed on already, so the
   * pipeline may checkpoint it once what came before is applied. Event groups the server leaves
   * out (millrace's own writes) and groups of other tables would otherwise hold the checkpoint
   * back until the binlog files holding it are purged. At most one per `keepaliveMs`, except at a
   * new file (rare, and nothing may follow for long when all that is written is left out).
   */
  private keepalive(lsn: Lsn, always: boolean): void {
    if (this.group || lsn <= this.lastHanded) return;
    if (!always && Date.now() - this.lastHandedAt < (this.options.keepaliveMs ?? 1_000)) return;
    this.handed(lsn);
    this.emit({ kind: 'keepalive', lsn });
  }

  private handed(lsn: Lsn): void {
    this.lastHandedAt = Date.now();
    this.lastHanded = lsn;
  }

  private position(offset: number): Lsn {
    if (this.fileIndex < 0) throw new Error('binlog event before the stream named its file');
    return encodeBinlogPosition({ fileIndex: this.fileIndex, offset });
  }

  private openGroup(event: BinlogGtid): void {
    if (this.group?.begun) {
      throw new Error(`transaction ${this.group.gtid} ended without a commit`);
    }
    this.group = {
      gtid: event.gtid,
      sequence: event.sequence,
      start: this.position(event.start),
      standalone: event.standalone,
      begun: false,
    };
  }

  private begin(group: OpenGroup): void {
    if (group.begun) return;
    group.begun = true;
    this.emit({ kind: 'begin', xid: group.sequence, finalLsn: group.start });
  }

  private rows(event: BinlogRows): void {
    const group = this.group;
    if (!group) throw new Error(`rows of ${event.table} outside a transaction`);
    group.table ??= event.table;
    this.begin(group);
    this.announce(event.table, event.columns);
    const table = event.table;
    for (const { before, after } of event.rows) {
      if (event.operation === 'insert') this.emit({ kind: 'insert', table, row: after, old: null });
      else if (event.operation === 'update')
        this.emit({ kind: 'update', table, row: after, old: before });
      else this.emit({ kind: 'delete', table, row: null, old: before });
    }
  }

  /** A relation at a table's first rows in this session and whenever its columns change. */
  private announce(table: string, columns: readonly BinlogColumn[]): void {
    const known = this.announced.get(table);
    if (known === columns) return;
    this.announced.set(table, columns);
    if (known && sameColumns(known, columns)) return;
    this.emit({
      kind: 'relation',
      table,
      columns: columns.map((column) => ({ name: column.name, typeOid: 0 })),
    });
  }

  /** A transaction's XID. One that touched no table read is only a keepalive. */
  private commit(end: number, timestampMs: number): void {
    const group = this.group;
    this.group = undefined;
    const endLsn = this.position(end);
    if (!group?.begun) {
      this.keepalive(endLsn, false);
      return;
    }
    this.handed(endLsn);
    this.emit({ kind: 'commit', endLsn, commitTimeMs: timestampMs, gtid: group.gtid });
  }

  private statement(event: BinlogStatement): void {
    const kind = statementKind(event.sql);
    const group = this.group;
    switch (kind) {
      case 'begin':
      case 'savepoint':
        return;
      case 'end':
        // A group closed by a COMMIT or ROLLBACK statement, not an XID: a non-transactional
        // engine's. Its rows were written whether or not it "rolled back", and no XID ever marks
        // a position to resume from inside it.
        if (group?.begun) {
          throw new RuntimeFailure(
            'BINLOG_UNSUPPORTED',
            `MES table '${group.table}' is not transactional (MyISAM, Aria, …): its changes cannot be replicated exactly once; convert it to InnoDB (ALTER TABLE ${group.table} ENGINE=InnoDB)`,
          );
        }
        this.group = undefined;
        this.keepalive(this.position(event.end), false);
        return;
      case 'dml':
        if (event.schema === this.options.database || event.sql.includes(this.options.database)) {
          throw new RuntimeFailure(
            'BINLOG_UNSUPPORTED',
            `a statement-format change on the MES database '${this.options.database}' (${event.sql.slice(0, 60)}): the return path needs row events; the writing session set binlog_format=STATEMENT or MIXED, set it to ROW`,
          );
        }
        return;
      default:
        this.ddl(event);
    }
  }

  /**
   * DDL is a group of its own, with no XID: its statement ends it. A TRUNCATE of a table read
   * is handed on as a truncate; its commit is that statement's end, the only end the group has.
   * Other DDL changes nothing here (a changed column list is announced with the next rows).
   */
  private ddl(event: BinlogStatement): void {
    const group = this.group;
    if (!group?.standalone) return;
    this.group = undefined;
    const endLsn = this.position(event.end);
    const truncated = truncatedTable(event.sql, event.schema);
    if (truncated?.schema !== this.options.database || !this.tables.has(truncated.table)) {
      this.keepalive(endLsn, false);
      return;
    }
    this.begin(group);
    this.emit({ kind: 'truncate', tables: [truncated.table] });
    this.handed(endLsn);
    this.emit({ kind: 'commit', endLsn, commitTimeMs: event.timestampMs, gtid: group.gtid });
  }

  private emit(event: SourceEvent): void {
    this.handler.event(event);
  }
}

function fileIndexOf(name: string): number {
  const parsed = parseBinlogFileName(name);
  if (!parsed) throw new Error(`binlog file name '${name}' has no numeric suffix`);
  return parsed.index;
}

function sameColumns(a: readonly BinlogColumn[], b: readonly BinlogColumn[]): boolean {
  return (
    a.length === b.length &&
    a.every((column, index) => column.name === b[index]?.name && column.type === b[index]?.type)
  );
}

/** MariaDB's ER_MASTER_FATAL_ERROR_READING_BINLOG: the file or position asked for is gone. */
const fatalReadingBinlog = 1236;

function explainStartFailure(error: unknown, from: { file: string; offset: number }): unknown {
  if ((error as { errno?: number } | null)?.errno !== fatalReadingBinlog) return error;
  return new RuntimeFailure(
    'BINLOG_PURGED',
    `the MES cannot send its binlog from ${from.file}:${from.offset} (${describeError(error)}): if it was purged, run \`millrace backfill\` for the to-crm mappings again`,
    { cause: error },
  );
}
