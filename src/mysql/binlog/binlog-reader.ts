import type { SourceRow } from '../../mapping/compiled-mapping.js';

/**
 * The seam between the binlog source and whatever decodes the replication protocol (today
 * @vlasky/zongji, in `zongji-reader.ts`): a decoder of our own would implement this and nothing
 * else would change. Events arrive in binlog order; values are already in MySQL's text form.
 */
export type BinlogEvent =
  | BinlogRotate
  | BinlogGtid
  | BinlogRows
  | BinlogXid
  | BinlogStatement
  | BinlogHeartbeat;

/**
 * The following events are in `file`, from `offset` on (the server's own announcement, payload
 * not header): 4 at a new file, the requested offset at the start of a dump.
 */
export interface BinlogRotate {
  readonly kind: 'rotate';
  readonly file: string;
  readonly offset: number;
}

/** A MariaDB GTID event: the start of an event group (a transaction, or one DDL statement). */
export interface BinlogGtid {
  readonly kind: 'gtid';
  /** `domain-server-sequence` */
  readonly gtid: string;
  readonly sequence: number;
  /** Offset of this event's first byte in the current file: where the group starts. */
  readonly start: number;
  /** A group with no commit of its own (DDL, a statement on a non-transactional table). */
  readonly standalone: boolean;
}

export interface BinlogColumn {
  readonly name: string;
  /** The declared type, e.g. `decimal(12,4)`. */
  readonly type: string;
}

/** The row images of one rows event: after for insert and update, before for update and delete. */
export interface BinlogRows {
  readonly kind: 'rows';
  readonly operation: 'insert' | 'update' | 'delete';
  /** Bare table name; only tables of the database and list the reader was asked for arrive. */
  readonly table: string;
  /** The table's columns for this event, in order; the same array while the table map is the same. */
  readonly columns: readonly BinlogColumn[];
  readonly rows: readonly { readonly before: SourceRow | null; readonly after: SourceRow | null }[];
}

/** A transaction's commit (XID event). */
export interface BinlogXid {
  readonly kind: 'xid';
  /** Offset just after the event: where reading resumes after this transaction. */
  readonly end: number;
  readonly timestampMs: number;
}

/** A statement event: BEGIN/COMMIT of a non-transactional group, DDL, or statement-format DML. */
export interface BinlogStatement {
  readonly kind: 'query';
  /** The session's default database when the statement ran. */
  readonly schema: string;
  readonly sql: string;
  readonly end: number;
  readonly timestampMs: number;
}

/**
 * The server is alive with nothing to send: it has read `file` up to `end` (0 when unknown), and
 * sent or left out everything before. MariaDB sends one only after a heartbeat period with no binlog write at all;
 * while event groups it leaves out keep coming (millrace's own writes), it sends nothing.
 */
export interface BinlogHeartbeat {
  readonly kind: 'heartbeat';
  readonly file: string;
  readonly end: number;
}

export interface BinlogReaderHandler {
  event(event: BinlogEvent): void;
  /** Any decoding or connection failure; nothing more is delivered after it. */
  fail(error: unknown): void;
}

export interface BinlogReader {
  /** Streams from exactly `file`:`offset`; resolves once the server accepted the dump request. */
  start(
    from: { readonly file: string; readonly offset: number },
    handler: BinlogReaderHandler,
  ): Promise<void>;
  /** Stops delivering (and reading the socket) until resumed. */
  pause(paused: boolean): void;
  stop(): Promise<void>;
}
