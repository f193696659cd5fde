import type { MesColumn, SourceType, TargetColumn } from '../values/column-types.js';
import type { NamedColumn } from './direction-types.js';

/**
 * A table a mapping reads: for to-mes a CRM table as introspected from PostgreSQL's catalogs
 * (`S` = SourceType); for to-crm a MES table (`S` = MesColumn, see `mesSourceTable`).
 */
export interface SourceTable<S = SourceType> {
  readonly schema: string;
  readonly name: string;
  readonly columns: ReadonlyMap<string, SourceColumn<S>>;
  /** Primary key columns in key order; empty when there is none. */
  readonly primaryKey: readonly string[];
  /** Other unique keys, where known (MES tables): a source key covering one is unique too. */
  readonly uniqueKeys?: readonly (readonly string[])[];
  /** pg_class.relreplident: d default (primary key), n nothing, f full, i index. */
  readonly replicaIdentity: 'd' | 'n' | 'f' | 'i';
  /** Columns the replica identity carries in UPDATE/DELETE old-key tuples (all columns for `f`). */
  readonly identityColumns: readonly string[];
  /** pg_class.relkind: r table, p partitioned table. */
  readonly kind: 'r' | 'p';
  /**
   * For a partition: the `schema.table` of its partitioned root. A mapping names the
   * root, because the publication publishes changes through it. Undefined for other tables.
   */
  readonly partitionOf?: string;
}

export interface SourceColumn<S = SourceType> {
  readonly name: string;
  readonly type: S;
  readonly notNull: boolean;
  /**
   * Whether PostgreSQL may store the value out of line (TOAST), so that an UPDATE not touching it
   * sends it as "unchanged": a variable-length type whose storage is not `plain`. Undefined when
   * not introspected (fakes in tests).
   */
  readonly toastable?: boolean;
}

/**
 * A table a mapping writes: for to-mes a MES staging table as introspected from
 * information_schema; for to-crm a CRM table (`T` = CrmColumn, name `schema.table`).
 */
export interface TargetTable<T extends NamedColumn = TargetColumn> {
  readonly name: string;
  readonly columns: ReadonlyMap<string, T>;
  readonly primaryKey: readonly string[];
  /** Every unique key other than the primary key (for to-crm: usable by ON CONFLICT), each as its columns in order. */
  readonly uniqueKeys: readonly (readonly string[])[];
  /**
   * Columns an INSERT must set: NOT NULL, no default, not AUTO_INCREMENT, not generated.
   * Undefined when not introspected.
   */
  readonly requiredColumns?: readonly string[];
  /** Generated (virtual or stored) columns, which no write may set. Undefined when not introspected. */
  readonly generatedColumns?: readonly string[];
}

/** Both live schemas, looked up by the mappings' `sourceKey` and `target`. */
export interface Schemas<S = SourceType, T extends NamedColumn = TargetColumn> {
  readonly source: ReadonlyMap<string, SourceTable<S>>;
  readonly target: ReadonlyMap<string, TargetTable<T>>;
}

/**
 * A MES table (as introspected for staging tables) seen as the source of to-crm mappings. The
 * binlog's FULL row image carries every column of the old row, which is what REPLICA IDENTITY
 * FULL means for pgoutput: deletes and key changes always carry the key, and nothing arrives
 * "unchanged" (no TOAST).
 */
export function mesSourceTable(table: TargetTable<MesColumn>): SourceTable<MesColumn> {
  const columns = new Map<string, SourceColumn<MesColumn>>();
  for (const column of table.columns.values()) {
    columns.set(
      column.name,
      Object.freeze({
        name: column.name,
        type: column,
        notNull: !column.nullable,
        toastable: false,
      }),
    );
  }
  return Object.freeze({
    schema: '',
    name: table.name,
    columns,
    primaryKey: table.primaryKey,
    uniqueKeys: table.uniqueKeys,
    replicaIdentity: 'f',
    identityColumns: Object.freeze([...columns.keys()]),
    kind: 'r',
  });
}
