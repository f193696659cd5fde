import { isRowDataError } from '../errors/classify-error.js';
import { ValueError } from '../errors/millrace-error.js';
import type { ChangeMeta, CompiledMapping, SourceRow } from '../mapping/compiled-mapping.js';
import { quoteIdent } from '../mysql/sql/quote.js';
import { quotePgIdent, quotePgTable } from '../postgres/pg-client.js';
import type { TargetValue } from '../values/column-types.js';
import { rowKeyIdentity, targetValueAsText } from '../values/key-text.js';
import type { TargetBatch } from '../writes/target-batch.js';
import type { Origin } from '../writes/write-chunk.js';
import type { SourceQueryable } from './source-reader.js';

/**
 * The prune phase of a re-backfill: target rows whose key no source row produces any more (the
 * row was deleted, or it left the filter, while nothing replicated) are removed the way the stream
 * would have removed them. Target keys are read range by range in key order; each range is looked
 * up in the source by key equality, compared as PostgreSQL compares the typed values, so no
 * collation or number formatting of either side can make a live row look stale.
 */

/** The structural slice of a mysql2 connection the target reads need. */
export interface TargetQueryable {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
}

/** A mapping writing the pruned table, with how its source is looked up by target key. */
export interface SourceLookup {
  readonly mapping: CompiledMapping;
  /** Declared type of each source key column (format_type), for casting target key text back. */
  readonly keyTypes: readonly string[];
}

export interface PrunePlan {
  /** The backfilled mapping: its onDelete decides what removing means. */
  readonly mapping: CompiledMapping;
  /** Every mapping writing the same target table: a row is stale only when none produces it. */
  readonly lookups: readonly SourceLookup[];
  /** The soft-delete flag column and the value meaning "deleted", to skip rows already flagged. */
  readonly softFlag?: { readonly column: string; readonly deleted: string };
}

/** A target key read for checking, in the backfilled mapping's keyColumns order. */
export interface TargetKeyRow {
  readonly key: readonly TargetValue[];
  readonly record: Readonly<Record<string, TargetValue>>;
  readonly flagged: boolean;
}

type StaleReason = 'delete' | 'filter';

/** A target row no source row produces, and the source key texts it has under each lookup. */
interface StaleRow {
  readonly key: readonly TargetValue[];
  readonly reason: StaleReason;
  /** Already soft-deleted on the target. */
  readonly flagged: boolean;
  /** Per lookup (same order), the key's identity in that mapping's source text form, if it has one. */
  readonly sourceIdentities: readonly (string | undefined)[];
}

/** The source columns' declared types, to cast target key text back into them. */
export async function readKeyTypes(
  client: SourceQueryable,
  mapping: CompiledMapping,
): Promise<readonly string[]> {
  const { rows } = await client.query<{ name: string; type: string }>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type
       from pg_attribute a
      where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped
        and a.attname = any($2::text[])`,
    [quotePgTable(mapping.source.schema, mapping.source.table), [...mapping.sourceKeyColumns]],
  );
  const types = new Map(rows.map((row) => [row.name, row.type] as const));
  return mapping.sourceKeyColumns.map((column) => types.get(column) ?? 'text');
}

export function planPrune(mapping: CompiledMapping, lookups: readonly SourceLookup[]): PrunePlan {
  let softFlag: PrunePlan['softFlag'];
  if (mapping.onDelete === 'soft' && mapping.softDelete) {
    const value = mapping.softDeleteRow({ lsn: 0n, syncedAt: new Date(0) })[
      mapping.softDelete.flag
    ];
    if (value !== undefined && value !== null) {
      softFlag = { column: mapping.softDelete.flag, deleted: String(targetValueAsText(value)) };
    }
  }
  return Object.freeze({ mapping, lookups, ...(softFlag ? { softFlag } : {}) });
}

/** The next `limit` target keys after `after` (from the first when null), in key order. */
export async function readTargetKeys(
  connection: TargetQueryable,
  plan: PrunePlan,
  after: readonly TargetValue[] | null,
  limit: number,
): Promise<TargetKeyRow[]> {
  const keyColumns = plan.mapping.keyColumns;
  const selected = [...keyColumns, ...(plan.softFlag ? [plan.softFlag.column] : [])];
  const values: unknown[] = [];
  let where = '';
  if (after !== null) {
    // (k1 > ?) OR (k1 = ? AND k2 > ?) …: every MySQL and MariaDB turns this into index ranges.
    const branches = keyColumns.map((column, index) => {
      const parts = keyColumns.slice(0, index).map((previous, i) => {
        values.push(after[i]);
        return `${quoteIdent(previous)} = ?`;
      });
      values.push(after[index]);
      parts.push(`${quoteIdent(column)} > ?`);
      return `(${parts.join(' AND ')})`;
    });
    where = ` WHERE ${branches.join(' OR ')}`;
  }
  const order = keyColumns.map(quoteIdent).join(', ');
  const [rows] = await connection.query(
    `SELECT ${selected.map(quoteIdent).join(', ')} FROM ${quoteIdent(plan.mapping.target)}${where} ORDER BY ${order} LIMIT ${Math.max(1, Math.floor(limit))}`,
    values,
  );
  return (rows as Record<string, TargetValue>[]).map((record) => ({
    key: keyColumns.map((column) => record[column] ?? null),
    record,
    flagged:
      plan.softFlag !== undefined &&
      targetValueAsText(record[plan.softFlag.column] ?? null) === plan.softFlag.deleted,
  }));
}

/** One candidate as found in one mapping's source. */
interface Found {
  /** Identity of the key in the source's text form; undefined when the key does not fit the source type. */
  readonly identity: string | undefined;
  readonly row: SourceRow | undefined;
}

const ord = '_millrace_ord';
const found = '_millrace_found';

function lookupSql(lookup: SourceLookup): string {
  const { mapping, keyTypes } = lookup;
  const keys = mapping.sourceKeyColumns;
  const arrays = keys.map((_, index) => `$${index + 1}::text[]::${keyTypes[index]}[]`).join(', ');
  const names = keys.map((_, index) => `k${index}`);
  const join = keys
    .map((column, index) => `t.${quotePgIdent(column)} = u.${names[index]}`)
    .join(' and ');
  const cols = [...new Set([...mapping.sourceKeyColumns, ...mapping.sourceColumns])];
  // The key text comes from the cast values, so it is spelled as the stream spells it.
  const keyText = keys.map(
    (column, index) => `u.${names[index]}::text as ${quotePgIdent(`_millrace_k_${column}`)}`,
  );
  return `select u.${ord}, t.${quotePgIdent(keys[0]!)} is not null as ${found}, ${keyText.join(', ')}, ${cols
    .map((column) => `t.${quotePgIdent(column)}`)
    .join(', ')}
    from unnest(${arrays}) with ordinality as u(${names.join(', ')}, ${ord})
    left join ${quotePgTable(mapping.source.schema, mapping.source.table)} t on ${join}`;
}

/** Looks the candidates up in one mapping's source, one answer per candidate, in order. */
export async function lookupCandidates(
  client: SourceQueryable,
  lookup: SourceLookup,
  candidates: readonly TargetKeyRow[],
): Promise<Found[]> {
  const { mapping } = lookup;
  // By column name: the mapping's own key order may differ from the pruned mapping's.
  const params = (subset: readonly TargetKeyRow[]) =>
    mapping.keyColumns.map((column) =>
      subset.map((row) => targetValueAsText(row.record[column] ?? null)),
    );
  const sql = lookupSql(lookup);
  const run = async (subset: readonly TargetKeyRow[]): Promise<Found[]> => {
    const { rows } = await client.query<Record<string, string | boolean | null>>(
      sql,
      params(subset),
    );
    const answers: Found[] = new Array(subset.length).fill({ identity: undefined, row: undefined });
    for (const row of rows) {
      const index = Number(row[ord]) - 1;
      const keyRow: Record<string, string | null> = {};
      for (const column of mapping.sourceKeyColumns) {
        keyRow[column] = row[`_millrace_k_${column}`] as string | null;
      }
      const exists = row[found] === true || row[found] === 't';
      answers[index] = {
        identity: rowKeyIdentity(keyRow, mapping.sourceKeyColumns),
        row: exists ? (row as SourceRow) : undefined,
      };
    }
    return answers;
  };
  try {
    return await run(candidates);
  } catch (error) {
    if (!isRowDataError(error)) throw error;
  }
  // A target key that does not even fit the source column's type (or breaks a domain check):
  // look the keys up one by one; the ones that do not fit come from no source row.
  const answers: Found[] = [];
  for (const candidate of candidates) {
    try {
      answers.push(...(await run([candidate])));
    } catch (error) {
      if (!isRowDataError(error)) throw error;
      answers.push({ identity: undefined, row: undefined });
    }
  }
  return answers;
}

/** Which candidates no mapping of the table produces, and why (deleted, or filtered out). */
export async function findStaleRows(
  client: SourceQueryable,
  plan: PrunePlan,
  candidates: readonly TargetKeyRow[],
): Promise<StaleRow[]> {
  if (candidates.length === 0) return [];
  const answers: Found[][] = [];
  for (const lookup of plan.lookups)
    answers.push(await lookupCandidates(client, lookup, candidates));
  const stale: StaleRow[] = [];
  candidates.forEach((candidate, index) => {
    let exists = false;
    let produced = false;
    plan.lookups.forEach((lookup, which) => {
      const row = answers[which]![index]!.row;
      if (row === undefined) return;
      exists = true;
      try {
        if (lookup.mapping.matches(row) !== false) produced = true;
      } catch (error) {
        // A row whose filter columns do not convert produces nothing either.
        if (!(error instanceof ValueError)) throw error;
      }
    });
    if (produced) return;
    stale.push({
      key: candidate.key,
      reason: exists ? 'filter' : 'delete',
      flagged: candidate.flagged,
      sourceIdentities: answers.map((perLookup) => perLookup[index]!.identity),
    });
  });
  return stale;
}

/**
 * Adds the removals to the batch as the stream would write them (ChangeMapper's rules): delete,
 * soft delete, or nothing for onDelete `ignore` unless the row left the filter. `skip` says
 * which rows a newer streamed change owns. Returns the rows removed.
 */
export function addRemovals(
  plan: PrunePlan,
  stale: readonly StaleRow[],
  batch: TargetBatch,
  meta: ChangeMeta,
  skip?: (row: StaleRow) => boolean,
): number {
  const { mapping } = plan;
  let removed = 0;
  for (const row of stale) {
    if (skip?.(row)) continue;
    const origin: Origin = {
      mapping: mapping.name,
      lsn: null,
      operation: 'backfill',
      sourceValues: null,
    };
    switch (mapping.onDelete) {
      case 'delete':
        batch.delete(mapping, row.key, origin);
        removed++;
        break;
      case 'soft':
        // Already flagged rows keep their deletion time.
        if (row.flagged) break;
        batch.update(mapping, row.key, mapping.softDeleteRow(meta), origin);
        removed++;
        break;
      case 'ignore':
        // The target keeps rows deleted at the source, but not rows that left the filter.
        if (row.reason !== 'filter') break;
        batch.delete(mapping, row.key, origin);
        removed++;
        break;
    }
  }
  return removed;
}
