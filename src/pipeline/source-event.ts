import type { SourceRow } from '../mapping/compiled-mapping.js';
import type { Lsn } from '../util/lsn.js';

/**
 * What the replication source hands the pipeline, decoded from pgoutput. Values are in
 * PostgreSQL's text form; an unchanged TOAST value is the UNCHANGED sentinel, never null.
 */
export type SourceEvent =
  | BeginEvent
  | OriginEvent
  | ChangeEvent
  | TruncateEvent
  | CommitEvent
  | RelationEvent
  | MessageEvent
  | KeepaliveEvent;

export interface BeginEvent {
  readonly kind: 'begin';
  readonly xid: number;
  /** LSN of the transaction's commit record (its start, not its end). */
  readonly finalLsn: Lsn;
}

/**
 * The replication origin a transaction was written under, right after its begin (pgoutput sends
 * it only for such transactions). Origins named `millrace…` mark the return path's own writes
 * into the source, which must not come back.
 */
export interface OriginEvent {
  readonly kind: 'origin';
  readonly name: string;
}

export interface RelationEvent {
  readonly kind: 'relation';
  /** `schema.table` */
  readonly table: string;
  readonly columns: readonly { readonly name: string; readonly typeOid: number }[];
}

export interface ChangeEvent {
  readonly kind: 'insert' | 'update' | 'delete';
  /** `schema.table` */
  readonly table: string;
  /** The new row (insert, update). */
  readonly row: SourceRow | null;
  /**
   * The old key (update when a replica-identity column changed; delete), or the whole old row
   * with REPLICA IDENTITY FULL. Null for an update that kept its key.
   */
  readonly old: SourceRow | null;
}

export interface TruncateEvent {
  readonly kind: 'truncate';
  readonly tables: readonly string[];
}

export interface CommitEvent {
  readonly kind: 'commit';
  /** End LSN of the commit record: what the checkpoint stores and the slot is acknowledged to. */
  readonly endLsn: Lsn;
  /** Commit time, milliseconds since the epoch. */
  readonly commitTimeMs: number;
  /** The source's own name for this commit where it has one (a MariaDB GTID), kept with the checkpoint for operators. */
  readonly gtid?: string;
}

/**
 * A logical decoding message with a `millrace` prefix (pg_logical_emit_message), in stream
 * order: the online backfill's watermarks travel this way.
 */
export interface MessageEvent {
  readonly kind: 'message';
  readonly prefix: string;
  /** The message content, decoded as UTF-8. */
  readonly content: string;
  /** Emitted inside a transaction (delivered with it at commit) or not (delivered at once). */
  readonly transactional: boolean;
}

/**
 * Between transactions, the source stands at `lsn`: every transaction that ends at or below it
 * was handed on already, and what lies between the last one and `lsn` carries nothing for the
 * target. The checkpoint may move there once what came before is applied. (The binlog source
 * sends these; the pgoutput reader acknowledges its keepalives on the slot instead.)
 */
export interface KeepaliveEvent {
  readonly kind: 'keepalive';
  readonly lsn: Lsn;
}
