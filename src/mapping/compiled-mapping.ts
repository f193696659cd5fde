import type { TargetValue } from '../values/column-types.js';
import type { Direction } from './direction-types.js';

/**
 * An unchanged TOASTed column in an UPDATE: pgoutput does not send its value. It is not NULL:
 * a target column computed from it must be left out of the write.
 */
export const UNCHANGED: unique symbol = Symbol('unchanged');
type Unchanged = typeof UNCHANGED;

/** A source row: column name → PostgreSQL text form, null, or UNCHANGED. */
export type SourceRow = Readonly<Record<string, string | null | Unchanged>>;

/** Target row: column name → bound parameter. Only the columns the write sets. */
export type TargetRow = Readonly<Record<string, TargetValue>>;

export type OnDelete = 'delete' | 'soft' | 'ignore';

/** Per-change facts some target columns are computed from (the mapping's `metadata`). */
export interface ChangeMeta {
  /**
   * Commit LSN of the source transaction (end LSN); for to-crm the encoded binlog position
   * (file index << 32 | offset) after the commit; 0n for a backfill read, except a to-crm
   * re-read of MES rows: the binlog position its snapshot is consistent with.
   */
  readonly lsn: bigint;
  /** When millrace wrote the change. */
  readonly syncedAt: Date;
}

/** What a mapping says about its tables and deletes, loaded or compiled alike. */
export interface MappingOutline {
  readonly name: string;
  /** The YAML file it came from, as the user spells the mappings directory (`mappings/orders.yaml`). */
  readonly file: string;
  /** to-mes: CRM → MES; to-crm: MES → CRM. */
  readonly direction: Direction;
  /** The CRM table (to-mes), or the MES table with schema '' (to-crm: the connection's database). */
  readonly source: { readonly schema: string; readonly table: string };
  /**
   * The key the pipeline routes source changes by: `schema.table` (to-mes), the bare MES table
   * name (to-crm).
   */
  readonly sourceKey: string;
  /** The MES table (to-mes), or `schema.table` in the CRM (to-crm). */
  readonly target: string;
  readonly onDelete: OnDelete;
  /** Columns a soft delete sets; present exactly when onDelete is `soft`. */
  readonly softDelete?: { readonly flag: string; readonly at?: string };
  readonly metadata?: { readonly lsn?: string; readonly syncedAt?: string };
  /**
   * For a mapping that shares its target table with mappings of other source tables: the
   * `const` column and value that mark its rows. Its removals and resets touch only those.
   */
  readonly owner?: RowOwner;
}

/** A target column and the value that marks the rows one mapping owns in a shared table. */
export interface RowOwner {
  readonly column: string;
  readonly value: string;
}

/**
 * A mapping compiled once into plain functions (no per-row walk of the YAML tree). Stream,
 * backfill, audit and repair all go through these, which is what makes their values identical.
 * Functions throw ValueError for a value that cannot be converted (a "bad row").
 */
export interface CompiledMapping extends MappingOutline {
  /** Target key columns in key order. */
  readonly keyColumns: readonly string[];
  /** The source column feeding each key column, same order. */
  readonly sourceKeyColumns: readonly string[];
  /** Every source column the mapping reads (key, columns, filter, templates). */
  readonly sourceColumns: readonly string[];
  /** Every target column a full write sets: key, columns, soft-delete and metadata columns. */
  readonly targetColumns: readonly string[];
  /**
   * Whether the row passes the filter (true when there is none). Undefined when the answer
   * depends on a column that arrived UNCHANGED.
   */
  matches(row: SourceRow): boolean | undefined;
  /** Target key values, in keyColumns order. The key's source columns are never UNCHANGED. */
  key(row: SourceRow): readonly TargetValue[];
  /**
   * The target row for an insert or update: key columns, every column computable from the
   * present source columns, the soft-delete flag cleared (onDelete soft) and metadata columns.
   * Columns depending on an UNCHANGED source column are absent, never null.
   */
  project(row: SourceRow, meta: ChangeMeta): TargetRow;
  /** The columns a soft delete sets (flag, deletion time, metadata); only for onDelete `soft`. */
  softDeleteRow(meta: ChangeMeta): TargetRow;
}
