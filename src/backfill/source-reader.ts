import type { CompiledMapping, SourceRow } from '../mapping/compiled-mapping.js';
import type { SourceTable } from '../mapping/tables.js';
import { quotePgIdent, quotePgTable } from '../postgres/pg-client.js';

/** The slice of a `pg` client the reads need (text-form values: see src/postgres/pg-client.ts). */
export interface SourceQueryable {
  query<R extends object>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * How one mapping's source rows are read in chunks: keyset pagination on a unique key, so each
 * chunk is an index range scan that starts where the last committed one ended (resumable, no
 * long-running transaction, no OFFSET that slows down as it goes).
 */
export interface SourceReadPlan {
  /** Columns the keyset orders by: the primary key (or replica identity index), in key order. */
  readonly keyColumns: readonly string[];
  readonly firstSql: string;
  readonly afterSql: string;
}

/**
 * The keyset: the primary key, else the replica identity index, else the columns feeding the
 * target key (a table without either must have them unique for the target key to make sense).
 */
export function keysetColumns(
  mapping: CompiledMapping,
  table: SourceTable | undefined,
): readonly string[] {
  if (table && table.primaryKey.length > 0) return table.primaryKey;
  if (table && table.replicaIdentity === 'i' && table.identityColumns.length > 0) {
    return table.identityColumns;
  }
  return mapping.sourceKeyColumns;
}

export function planSourceRead(
  mapping: CompiledMapping,
  keyColumns: readonly string[],
): SourceReadPlan {
  const selected = [...new Set([...keyColumns, ...mapping.sourceColumns])];
  const list = selected.map(quotePgIdent).join(', ');
  const from = quotePgTable(mapping.source.schema, mapping.source.table);
  const order = keyColumns.map(quotePgIdent).join(', ');
  // A row comparison is what lets PostgreSQL turn a composite keyset into one index range.
  const after =
    keyColumns.length === 1
      ? `${quotePgIdent(keyColumns[0]!)} > $2`
      : `(${order}) > (${keyColumns.map((_, index) => `$${index + 2}`).join(', ')})`;
  return Object.freeze({
    keyColumns: Object.freeze([...keyColumns]),
    firstSql: `select ${list} from ${from} order by ${order} limit $1`,
    afterSql: `select ${list} from ${from} where ${after} order by ${order} limit $1`,
  });
}

/** The `limit` rows after `after` (from the start when null), as PostgreSQL text forms. */
export async function readChunk(
  client: SourceQueryable,
  plan: SourceReadPlan,
  after: readonly string[] | null,
  limit: number,
): Promise<SourceRow[]> {
  const count = Math.max(1, Math.floor(limit));
  const result =
    after === null
      ? await client.query<SourceRow>(plan.firstSql, [count])
      : await client.query<SourceRow>(plan.afterSql, [count, ...after]);
  return result.rows;
}

/** The keyset position of a row read through `plan`. */
export function keyOfRow(plan: SourceReadPlan, row: SourceRow): readonly string[] {
  return plan.keyColumns.map((column) => row[column] as string);
}

/**
 * The planner's row estimate for a table, partitions included (pg_class.reltuples, kept by
 * ANALYZE and autovacuum); null when it was never analyzed.
 */
export async function estimateRows(
  client: SourceQueryable,
  mapping: CompiledMapping,
): Promise<number | null> {
  const { rows } = await client.query<{ estimate: string | null }>(
    `select sum(c.reltuples)::int8::text as estimate
       from pg_class c
      where c.relkind = 'r' and c.reltuples >= 0
        and c.oid in (select $1::regclass
                      union all
                      select relid from pg_partition_tree($1::regclass) where isleaf)`,
    [quotePgTable(mapping.source.schema, mapping.source.table)],
  );
  const estimate = rows[0]?.estimate;
  return estimate === null || estimate === undefined ? null : Number(estimate);
}

/** The source's current WAL position, recorded with a run for people reading the progress row. */
export async function currentWalLsn(client: SourceQueryable): Promise<string> {
  const { rows } = await client.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
  return rows[0]!.lsn;
}
