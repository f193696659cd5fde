import type { RowOwner, TargetRow } from '../mapping/compiled-mapping.js';
import type { TargetValue } from '../values/column-types.js';

/** Where a target operation came from: what a dead letter needs to replay it. */
export interface Origin {
  readonly mapping: string;
  /** Commit end LSN of the source transaction; null for backfill and repair writes. */
  readonly lsn: bigint | null;
  readonly operation: 'insert' | 'update' | 'delete' | 'truncate' | 'backfill' | 'repair';
  /** The source row (text form) the operation was computed from. */
  readonly sourceValues: Readonly<Record<string, unknown>> | null;
}

export interface KeyedWrite {
  /** Key values in the table's keyColumns order. */
  readonly key: readonly TargetValue[];
  readonly origin: Origin;
}

export interface RowWrite extends KeyedWrite {
  /** Columns to set (for an upsert, including the key columns). */
  readonly row: TargetRow;
}

/**
 * A key change whose new row lacks unchanged TOAST values: the target row at `from` lends its
 * `columns` to the row at `to` before anything else of the chunk is written. The pipeline writes
 * such a change in a chunk of its own, so the row at `from` is exactly the source's as of then.
 */
export interface KeyCopy {
  readonly from: readonly TargetValue[];
  readonly to: readonly TargetValue[];
  readonly columns: readonly string[];
  readonly origin: Origin;
}

/**
 * Coalesced writes to one target table, applied in this order: deletes, updates, upserts. A key
 * may appear in several lists (deleted then re-inserted; updated if present, then upserted).
 */
export interface TableWrites {
  readonly table: string;
  readonly keyColumns: readonly string[];
  readonly deletes: readonly KeyedWrite[];
  readonly upserts: readonly RowWrite[];
  /** Update-only writes (soft deletes): never insert a row that is not there. */
  readonly updates: readonly RowWrite[];
  /** Applied before everything else of the table. */
  readonly copies?: readonly KeyCopy[];
  /**
   * In a table several source tables write: the rows these writes may remove, update or copy
   * from are only those whose owner column holds this value (upserts take the row over).
   */
  readonly owner?: RowOwner;
}

/** A whole-table operation (a source TRUNCATE): delete every row, or set columns on every row. */
export interface TableReset {
  readonly table: string;
  /** Columns to set on every row (soft delete); undefined deletes the rows. */
  readonly set?: TargetRow;
  /** Only the rows whose owner column holds this value (a table several source tables write). */
  readonly owner?: RowOwner;
  readonly origin: Origin;
}

/** A row that could not be applied, recorded in millrace_dead_letters in the same transaction. */
export interface DeadLetter {
  readonly origin: Origin;
  readonly key: Readonly<Record<string, unknown>>;
  readonly error: string;
}

/** One unit handed to the writer inside an open target transaction. */
export interface WriteChunk {
  /** Applied first: a truncate is always alone at a chunk boundary in stream order. */
  readonly resets: readonly TableReset[];
  readonly tables: readonly TableWrites[];
  readonly deadLetters: readonly DeadLetter[];
}
