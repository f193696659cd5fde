import type {
  AnyBinlogEvent,
  ColumnSchema,
  HeartbeatEvent,
  MariadbGtidEvent,
  QueryEvent,
  RotateEvent,
  RowData,
  TableMapEntry,
  TableMapEvent,
  UpdateRowData,
  XidEvent,
} from '@vlasky/zongji';
import ZongJi from '@vlasky/zongji';
import type { ConnectionOptions } from 'mysql2';
import type { SourceRow } from '../../mapping/compiled-mapping.js';
import type {
  BinlogColumn,
  BinlogEvent,
  BinlogReader,
  BinlogReaderHandler,
  BinlogRows,
} from './binlog-reader.js';
import { type ValueRenderer, valueRenderer } from './binlog-values.js';
import { enumLabels } from './enum-labels.js';

export interface ZongjiReaderOptions {
  /** mysql2 options for the replica connection (the MES URL's, without a database). */
  readonly connection: ConnectionOptions;
  readonly database: string;
  readonly tables: readonly string[];
  /** This reader's replica id: unique among everything reading the server's binlog. */
  readonly serverId: number;
  /** How often the server sends a heartbeat when it has nothing else, in milliseconds. */
  readonly heartbeatMs: number;
}

/** The part of mysql2's Connection the adapter drives directly. */
interface ReplicaConnection {
  readonly threadId: number | null;
  pause(): void;
  resume(): void;
  query(sql: string, callback: (error: Error | null) => void): unknown;
}

/** The part of mysql2's Connection the liveness probe uses (the library's control connection). */
interface ProbeConnection {
  query(
    options: { sql: string; values: unknown[]; timeout: number },
    callback: (error: Error | null, rows: unknown) => void,
  ): unknown;
}

interface TableColumns {
  readonly columns: readonly BinlogColumn[];
  readonly renderers: readonly ValueRenderer[];
}

type FetchTableInfo = (this: ZongJi, event: TableMapEvent, next: () => void) => void;

/**
 * zongji reads a table's columns from INFORMATION_SCHEMA (MariaDB logs no column metadata by
 * default) and parses ENUM/SET labels by splitting the declared type on commas, so a label
 * holding a comma or a quote decodes as the wrong label. Its own lookup is kept; the labels it
 * prefers, when present, are filled in from a real parse of the declared type.
 */
const libraryFetchTableInfo: unknown = Reflect.get(ZongJi.prototype, '_fetchTableInfo');

class LabelledZongJi extends ZongJi {
  _fetchTableInfo(event: TableMapEvent, next: () => void): void {
    (libraryFetchTableInfo as FetchTableInfo).call(this, event, () => {
      const entry = this.tableMap[event.tableId];
      if (entry) for (const schema of entry.columnSchemas) addLabels(schema);
      next();
    });
  }
}

function addLabels(schema: ColumnSchema): void {
  const type = schema.COLUMN_TYPE;
  if (type.startsWith('enum(')) schema.ENUM_VALUES = enumLabels(type);
  else if (type.startsWith('set(')) schema.SET_VALUES = enumLabels(type);
}

/**
 * The binlog as a replica, decoded by @vlasky/zongji (pinned): its events turned into
 * BinlogEvents with values in MySQL's text form. Only this file knows the library.
 */
export class ZongjiReader implements BinlogReader {
  private readonly options: ZongjiReaderOptions;
  private readonly zongji: ZongJi;
  private readonly tableColumns = new WeakMap<TableMapEntry, TableColumns>();
  private handler: BinlogReaderHandler | undefined;
  private paused = false;
  private libraryPaused = false;
  private connection: ReplicaConnection | undefined;
  private libraryPause: (() => void) | undefined;
  private libraryResume: (() => void) | undefined;
  private lastHeardAt = Date.now();
  private watchdog: NodeJS.Timeout | undefined;
  private probing = false;
  private stopped = false;

  constructor(options: ZongjiReaderOptions) {
    if (typeof libraryFetchTableInfo !== 'function') {
      throw new Error('@vlasky/zongji lacks _fetchTableInfo: the pinned version changed');
    }
    this.options = options;
    this.zongji = new LabelledZongJi({
      ...options.connection,
      // Row values: text for temporals and JSON, exact strings for DECIMAL and big integers.
      dateStrings: true,
      jsonStrings: true,
      decimalNumbers: false,
      supportBigNumbers: true,
      bigNumberStrings: true,
      timezone: 'Z',
    });
  }

  start(
    from: { readonly file: string; readonly offset: number },
    handler: BinlogReaderHandler,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      let started = false;
      this.handler = {
        event: (event) => {
          if (!started) {
            started = true;
            resolve();
          }
          handler.event(event);
        },
        fail: (error) => {
          if (!started) {
            started = true;
            reject(error);
          } else handler.fail(error);
        },
      };
      this.zongji.on('binlog', (event: AnyBinlogEvent) => this.receive(event));
      this.zongji.on('error', (error: Error) => this.fail(error));
      this.zongji.start({
        serverId: this.options.serverId,
        filename: from.file,
        position: from.offset,
        includeSchema: { [this.options.database]: [...this.options.tables] },
      });
      this.prepareConnection();
    });
  }

  /**
   * Runs before the library's own setup on the replica connection (commands run in order):
   * `skip_replication` on a dump connection makes the server leave out every event group
   * written with `skip_replication = 1` (millrace's own writes: no echo), as it does for a
   * replica with replicate_events_marked_for_skip=FILTER_ON_MASTER; the heartbeat period makes
   * an idle server send heartbeats (and says where it is: see BinlogHeartbeat), so a silently
   * dead connection is noticed (see checkAlive).
   */
  private prepareConnection(): void {
    const connection = this.zongji.connection as unknown as ReplicaConnection | null;
    if (!connection) throw new Error('@vlasky/zongji made no replica connection at start');
    this.connection = connection;
    this.wrapPause(connection);
    const heartbeatNs = BigInt(this.options.heartbeatMs) * 1_000_000n;
    for (const sql of [
      'SET @@SESSION.skip_replication = 1',
      `SET @master_heartbeat_period = ${heartbeatNs}`,
    ]) {
      connection.query(sql, (error) => {
        if (error) this.fail(error);
      });
    }
    this.watchdog = setInterval(() => this.checkAlive(), Math.max(250, this.options.heartbeatMs));
    this.watchdog.unref();
  }

  /**
   * The library pauses the connection itself while it looks up a table's columns, and resumes it
   * after: its resume must not undo a pause asked for by the pipeline, nor ours undo its own.
   */
  private wrapPause(connection: ReplicaConnection): void {
    const pause = connection.pause.bind(connection);
    const resume = connection.resume.bind(connection);
    this.libraryPause = pause;
    this.libraryResume = resume;
    connection.pause = () => {
      this.libraryPaused = true;
      pause();
    };
    connection.resume = () => {
      this.libraryPaused = false;
      if (!this.paused) resume();
    };
  }

  pause(paused: boolean): void {
    if (paused === this.paused || this.stopped) return;
    this.paused = paused;
    if (paused) this.libraryPause?.();
    else {
      this.lastHeardAt = Date.now();
      if (!this.libraryPaused) this.libraryResume?.();
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.watchdog);
    const stopped = new Promise<void>((resolve) => {
      this.zongji.once('stopped', () => resolve());
      setTimeout(resolve, 2_000).unref();
    });
    this.zongji.stop();
    await stopped;
  }

  private fail(error: unknown): void {
    if (this.stopped) return;
    void this.stop();
    this.handler?.fail(error);
  }

  /**
   * Silence is not death by itself: MariaDB sends a heartbeat only after a whole period with no
   * binlog write, and nothing at all for the groups it leaves out, so while millrace's own writes
   * keep coming the stream is silent however long. Past three periods the server is asked, on the
   * library's control connection, whether this connection's dump thread is still there; gone, or
   * no answer within a period, and the connection counts as dead.
   */
  private checkAlive(): void {
    if (this.paused || this.libraryPaused || this.probing) return;
    const silentMs = Date.now() - this.lastHeardAt;
    if (silentMs <= 3 * this.options.heartbeatMs + 1_000) return;
    this.probing = true;
    const silent = `no event or heartbeat from the MES binlog for ${silentMs} ms`;
    this.dumpThreadAlive().then(
      (alive) => {
        this.probing = false;
        if (alive) this.lastHeardAt = Date.now();
        else this.fail(new Error(`${silent}, and its dump thread is gone`));
      },
      (error: unknown) => {
        this.probing = false;
        const reason = error instanceof Error ? error.message : String(error);
        this.fail(new Error(`${silent}, and no answer about its dump thread (${reason})`));
      },
    );
  }

  private dumpThreadAlive(): Promise<boolean> {
    const control = this.zongji.ctrlConnection as unknown as ProbeConnection | null;
    const threadId = this.connection?.threadId;
    if (!control || threadId == null) return Promise.resolve(false);
    return new Promise((resolve, reject) => {
      control.query(
        {
          sql: "SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ? AND COMMAND LIKE 'Binlog Dump%'",
          values: [threadId],
          timeout: Math.max(1_000, this.options.heartbeatMs),
        },
        (error, rows) => (error ? reject(error) : resolve((rows as unknown[]).length > 0)),
      );
    });
  }

  private receive(event: AnyBinlogEvent): void {
    if (this.stopped) return;
    this.lastHeardAt = Date.now();
    try {
      const decoded = this.decode(event);
      if (decoded) this.handler?.event(decoded);
    } catch (error) {
      this.fail(error);
    }
  }

  private decode(event: AnyBinlogEvent): BinlogEvent | undefined {
    switch (event.getTypeName()) {
      case 'Rotate': {
        const rotate = event as RotateEvent;
        return { kind: 'rotate', file: rotate.binlogName, offset: rotate.position };
      }
      case 'MariadbGtid':
        return this.gtid(event as MariadbGtidEvent);
      case 'WriteRows':
        return this.rows('insert', event as RowsWithMap);
      case 'UpdateRows':
        return this.rows('update', event as RowsWithMap);
      case 'DeleteRows':
        return this.rows('delete', event as RowsWithMap);
      case 'Xid':
        return {
          kind: 'xid',
          end: (event as XidEvent).nextPosition,
          timestampMs: event.timestamp,
        };
      case 'Query': {
        const query = event as QueryEvent;
        return {
          kind: 'query',
          schema: query.schema,
          sql: query.query,
          end: query.nextPosition,
          timestampMs: query.timestamp,
        };
      }
      case 'Heartbeat': {
        const heartbeat = event as HeartbeatEvent;
        // Past 4 GiB the header's position is 0 (no position is encoded there anyway).
        return { kind: 'heartbeat', file: heartbeat.binlogName, end: heartbeat.nextPosition };
      }
      case 'Gtid':
      case 'AnonymousGtid':
        throw new Error("the MES binlog is MySQL's: the binlog source reads MariaDB only");
      default:
        // Format description, GTID list, binlog checkpoint, annotate rows, start encryption and
        // the like carry no change and no position a restart could use.
        return undefined;
    }
  }

  private gtid(event: MariadbGtidEvent): BinlogEvent {
    // The common header is 19 bytes, plus the 4-byte checksum the library leaves out of `size`.
    const length = event.size + 19 + (this.zongji.useChecksum ? 4 : 0);
    return {
      kind: 'gtid',
      gtid: event.gtid,
      sequence: Number(event.seqNo),
      start: event.nextPosition - length,
      standalone: event.standalone,
    };
  }

  private rows(operation: BinlogRows['operation'], event: RowsWithMap): BinlogRows {
    const entry = event.tableMap[event.tableId];
    if (!entry?.columns) throw new Error(`rows event for unknown table id ${event.tableId}`);
    const table = this.describe(entry);
    const rows = event.rows.map((row) =>
      operation === 'update'
        ? {
            before: render((row as UpdateRowData).before, table),
            after: render((row as UpdateRowData).after, table),
          }
        : operation === 'insert'
          ? { before: null, after: render(row as RowData, table) }
          : { before: render(row as RowData, table), after: null },
    );
    return { kind: 'rows', operation, table: entry.tableName, columns: table.columns, rows };
  }

  private describe(entry: TableMapEntry): TableColumns {
    const known = this.tableColumns.get(entry);
    if (known) return known;
    const columns = (entry.columns ?? []).map((column, index) => ({
      name: column.name,
      type: entry.columnSchemas[index]?.COLUMN_TYPE ?? '',
      typeCode: column.type,
    }));
    const described: TableColumns = {
      columns: columns.map(({ name, type }) => Object.freeze({ name, type })),
      renderers: columns.map((column) =>
        valueRenderer({ name: column.name, typeCode: column.typeCode, declaredType: column.type }),
      ),
    };
    this.tableColumns.set(entry, described);
    return described;
  }
}

type RowsWithMap = AnyBinlogEvent & {
  readonly tableId: number;
  readonly tableMap: Record<number, TableMapEntry>;
  readonly rows: readonly (RowData | UpdateRowData)[];
};

function render(row: RowData, table: TableColumns): SourceRow {
  const rendered: Record<string, string | null> = {};
  const { columns, renderers } = table;
  for (let index = 0; index < columns.length; index++) {
    const name = (columns[index] as BinlogColumn).name;
    rendered[name] = (renderers[index] as ValueRenderer)(row[name]);
  }
  return rendered;
}
