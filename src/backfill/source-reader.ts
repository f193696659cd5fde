import type { CompiledMapping, SourceRow } from '../mapping/compiled-mapping.js';
import type { SourceTable } from '../mapping/tables.js';
import { type KeysetPlan, planKeysetRead, readKeysetChunk } from '../postgres/keyset-reader.js';
import type { PgClient } from '../postgres/pg-client.js';
import { quotePgTable } from '../postgres/pg-client.js';

/** How one mapping's source rows are read in chunks (see KeysetPlan). */
export type SourceReadPlan = KeysetPlan;

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
  return planKeysetRead(mapping.source, keyColumns, mapping.sourceColumns);
}

/** The `limit` rows after `after` (from the start when null), as PostgreSQL text forms. */
export async function readChunk(
  client: PgClient,
  plan: SourceReadPlan,
  after: readonly string[] | null,
  limit: number,
): Promise<SourceRow[]> {
  const rows = await readKeysetChunk(client, plan, after, limit);
  const { columns } = plan;
  return rows.map((values) => {
    const row: Record<string, string | null> = {};
    for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i] as string | null;
    return row;
  });
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
  client: PgClient,
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
export async function currentWalLsn(client: PgClient): Promise<string> {
  const { rows } = await client.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
  return rows[0]!.lsn;
}
