import type { TargetRow } from '../mapping/compiled-mapping.js';
import type { TargetValue } from '../values/column-types.js';
import { rowBytes } from '../writes/row-bytes.js';
import type { KeyCopy, KeyedWrite, RowWrite, TableWrites } from '../writes/write-chunk.js';
import { copyRow } from './sql/copy-row.js';
import { deleteKeys } from './sql/delete-keys.js';
import type { Statement } from './sql/quote.js';
import { updateKeys } from './sql/update-keys.js';
import { upsertRows } from './sql/upsert-rows.js';

/** Rows per multi-row statement; also bounded by placeholders (MySQL allows 65,535). */
const maxRowsPerStatement = 2_000;
const maxParamsPerStatement = 60_000;

/**
 * The approximate bytes one multi-row statement's rows may hold. Well below the server's
 * `max_allowed_packet`: a row's size is counted in characters, and UTF-8 and escaping can make
 * its text several times longer.
 */
export function statementBudget(maxAllowedPacket: number): number {
  return Math.max(64 * 1024, Math.min(4 * 1024 * 1024, Math.floor(maxAllowedPacket / 8)));
}

/** A table's coalesced writes as statements, in the order the writer applies them. */
export function* tableStatements(table: TableWrites, budget: number): Generator<Statement> {
  for (const copy of table.copies ?? []) yield copyStatement(table, copy);
  yield* deleteStatements(table, budget);
  yield* updateStatements(table, budget);
  yield* upsertStatements(table, budget);
}

/** Consecutive slices of `items`, each within the row count and the byte budget. */
function* slices<T>(
  items: readonly T[],
  maxRows: number,
  budget: number,
  bytesOf: (item: T) => number,
): Generator<readonly T[]> {
  let start = 0;
  let bytes = 0;
  for (let index = 0; index < items.length; index++) {
    const size = bytesOf(items[index]!);
    if (index > start && (index - start >= maxRows || bytes + size > budget)) {
      yield items.slice(start, index);
      start = index;
      bytes = 0;
    }
    bytes += size;
  }
  if (start < items.length) yield items.slice(start);
}

function rowsPerStatement(columnCount: number): number {
  return Math.max(
    1,
    Math.min(maxRowsPerStatement, Math.floor(maxParamsPerStatement / Math.max(1, columnCount))),
  );
}

function keyBytes(key: readonly TargetValue[]): number {
  let bytes = 8;
  for (const value of key) bytes += typeof value === 'string' ? value.length + 8 : 24;
  return bytes;
}

function* deleteStatements(table: TableWrites, budget: number): Generator<Statement> {
  const perStatement = rowsPerStatement(table.keyColumns.length);
  const keyOf = (write: KeyedWrite) => keyBytes(write.key);
  for (const part of slices(table.deletes, perStatement, budget, keyOf)) {
    yield deleteKeys(
      table.table,
      table.keyColumns,
      part.map((write) => write.key),
      table.owner,
    );
  }
}

/** Rows grouped by the set of columns they set, so a partial row never nulls a column. */
function* upsertStatements(table: TableWrites, budget: number): Generator<Statement> {
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
    for (const part of slices(rows, rowsPerStatement(columns.length), budget, rowBytes)) {
      yield upsertRows(table.table, columns, table.keyColumns, part);
    }
  }
}

/** Update-only writes grouped by identical SET values (soft deletes of one batch share them). */
function* updateStatements(table: TableWrites, budget: number): Generator<Statement> {
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
    const perStatement = rowsPerStatement(table.keyColumns.length);
    for (const part of slices(keys, perStatement, budget - rowBytes(set), keyBytes)) {
      yield updateKeys(table.table, table.keyColumns, set, part, table.owner);
    }
  }
}

export function copyStatement(table: TableWrites, copy: KeyCopy): Statement {
  return copyRow(table.table, table.keyColumns, copy.columns, copy.from, copy.to, table.owner);
}

/** The statement that applies one write alone (row-by-row retry, oversize checks). */
export function singleWriteStatement(
  table: TableWrites,
  kind: 'delete' | 'update' | 'upsert',
  write: KeyedWrite | RowWrite,
): Statement {
  if (kind === 'delete') return deleteKeys(table.table, table.keyColumns, [write.key], table.owner);
  const row = (write as RowWrite).row;
  if (kind === 'update')
    return updateKeys(table.table, table.keyColumns, row, [write.key], table.owner);
  return upsertRows(table.table, Object.keys(row), table.keyColumns, [row]);
}
