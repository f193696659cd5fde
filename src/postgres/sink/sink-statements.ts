import type { TargetRow } from '../../mapping/compiled-mapping.js';
import type { TargetValue } from '../../values/column-types.js';
import { rowBytes } from '../../writes/row-bytes.js';
import type { KeyCopy, KeyedWrite, RowWrite, TableWrites } from '../../writes/write-chunk.js';
import { copyRow } from './sql/copy-row.js';
import { deleteKeys } from './sql/delete-keys.js';
import type { PgStatement } from './sql/statement.js';
import { updateKeys } from './sql/update-keys.js';
import { upsertRows } from './sql/upsert-rows.js';

/** PostgreSQL's protocol counts a statement's parameters in 16 bits. */
export const maxParams = 65_535;

/**
 * About this many bytes of values per statement: PostgreSQL itself takes up to 1 GB, but a
 * statement this size already amortises its round trip, and the server parses it in one piece.
 */
export const statementBudget = 4 * 1024 * 1024;

/** A table's coalesced writes as statements, in the order the sink applies them. */
export function* tableStatements(table: TableWrites): Generator<PgStatement> {
  for (const copy of table.copies ?? []) yield copyStatement(table, copy);
  yield* deleteStatements(table);
  yield* updateStatements(table);
  yield* upsertStatements(table);
}

/**
 * Consecutive slices of `items`, each within `perItem` parameters apiece out of `params`, and the
 * byte budget.
 */
function* slices<T>(
  items: readonly T[],
  params: { readonly perItem: number; readonly available: number },
  bytesOf: (item: T) => number,
): Generator<readonly T[]> {
  const maxItems = Math.max(1, Math.floor(params.available / Math.max(1, params.perItem)));
  let start = 0;
  let bytes = 0;
  for (let index = 0; index < items.length; index++) {
    const size = bytesOf(items[index]!);
    if (index > start && (index - start >= maxItems || bytes + size > statementBudget)) {
      yield items.slice(start, index);
      start = index;
      bytes = 0;
    }
    bytes += size;
  }
  if (start < items.length) yield items.slice(start);
}

function keyBytes(key: readonly TargetValue[]): number {
  let bytes = 8;
  for (const value of key) bytes += typeof value === 'string' ? value.length + 8 : 24;
  return bytes;
}

/** Parameters left for keys once the owner's value (if any) and `fixed` others are placed. */
function keyParams(table: TableWrites, fixed: number) {
  return {
    perItem: table.keyColumns.length,
    available: maxParams - fixed - (table.owner === undefined ? 0 : 1),
  };
}

function* deleteStatements(table: TableWrites): Generator<PgStatement> {
  const keyOf = (write: KeyedWrite) => keyBytes(write.key);
  for (const part of slices(table.deletes, keyParams(table, 0), keyOf)) {
    yield deleteKeys(
      table.table,
      table.keyColumns,
      part.map((write) => write.key),
      table.owner,
    );
  }
}

/** Rows grouped by the set of columns they set, so a partial row never nulls a column. */
function* upsertStatements(table: TableWrites): Generator<PgStatement> {
  const groups = new Map<string, { columns: string[]; rows: TargetRow[] }>();
  for (const write of table.upserts) {
    const columns = Object.keys(write.row);
    const signature = columns.join('\u0000');
    let group = groups.get(signature);
    if (!group) {
      group = { columns, rows: [] };
      groups.set(signature, group);
    }
    group.rows.push(write.row);
  }
  for (const { columns, rows } of groups.values()) {
    const params = { perItem: columns.length, available: maxParams };
    for (const part of slices(rows, params, rowBytes)) {
      yield upsertRows(table.table, columns, table.keyColumns, part);
    }
  }
}

/** Update-only writes grouped by identical SET values (soft deletes of one batch share them). */
function* updateStatements(table: TableWrites): Generator<PgStatement> {
  const groups = new Map<string, { set: TargetRow; keys: (readonly TargetValue[])[] }>();
  for (const write of table.updates) {
    const signature = JSON.stringify(write.row, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
    let group = groups.get(signature);
    if (!group) {
      group = { set: write.row, keys: [] };
      groups.set(signature, group);
    }
    group.keys.push(write.key);
  }
  for (const { set, keys } of groups.values()) {
    const params = keyParams(table, Object.keys(set).length);
    for (const part of slices(keys, params, keyBytes)) {
      yield updateKeys(table.table, table.keyColumns, set, part, table.owner);
    }
  }
}

export function copyStatement(table: TableWrites, copy: KeyCopy): PgStatement {
  return copyRow(table.table, table.keyColumns, copy.columns, copy.from, copy.to, table.owner);
}

/** The statement that applies one write alone (the row-by-row retry). */
export function singleWriteStatement(
  table: TableWrites,
  kind: 'delete' | 'update' | 'upsert',
  write: KeyedWrite | RowWrite,
): PgStatement {
  if (kind === 'delete') return deleteKeys(table.table, table.keyColumns, [write.key], table.owner);
  const row = (write as RowWrite).row;
  if (kind === 'update')
    return updateKeys(table.table, table.keyColumns, row, [write.key], table.owner);
  return upsertRows(table.table, Object.keys(row), table.keyColumns, [row]);
}
