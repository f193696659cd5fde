import type { SourceType, TargetColumn } from '../values/column-types.js';

/** A CRM table as introspected from PostgreSQL's catalogs. */
export interface SourceTable {
  readonly schema: string;
  readonly name: string;
  readonly columns: ReadonlyMap<string, SourceColumn>;
  /** Primary key columns in key order; empty when there is none. */
  readonly primaryKey: readonly string[];
  /** pg_class.relreplident: d default (primary key), n nothing, f full, i index. */
  readonly replicaIdentity: 'd' | 'n' | 'f' | 'i';
  /** Columns the replica identity carries in UPDATE/DELETE old-key tuples (all columns for `f`). */
  readonly identityColumns: readonly string[];
  /** pg_class.relkind: r table, p partitioned table. */
  readonly kind: 'r' | 'p';
}

export interface SourceColumn {
  readonly name: string;
  readonly type: SourceType;
  readonly notNull: boolean;
}

/** A MES staging table as introspected from information_schema. */
export interface TargetTable {
  readonly name: string;
  readonly columns: ReadonlyMap<string, TargetColumn>;
  readonly primaryKey: readonly string[];
  /** Every unique key other than the primary key, each as its columns in order. */
  readonly uniqueKeys: readonly (readonly string[])[];
}

/** Both live schemas, looked up by `schema.table` (source) and table name (target). */
export interface Schemas {
  readonly source: ReadonlyMap<string, SourceTable>;
  readonly target: ReadonlyMap<string, TargetTable>;
}
