import type { TargetRow } from '../mapping/compiled-mapping.js';
import { targetKeyRecord } from '../values/key-text.js';
import type {
  KeyCopy,
  KeyedWrite,
  Origin,
  RowWrite,
  TableWrites,
  WriteChunk,
} from '../writes/write-chunk.js';
import { copyRow } from './sql/copy-row.js';
import { deleteKeysFrame } from './sql/delete-keys.js';
import { keyLiteral } from './sql/key-predicate.js';
import type { ListFrame } from './sql/quote.js';
import { resetTable } from './sql/reset-table.js';
import { updateKeysFrame } from './sql/update-keys.js';
import { rowLiteral, upsertFrame } from './sql/upsert-rows.js';

/** Rows per multi-row statement: about what the `mariadb` client's dumps use. */
const maxRowsPerStatement = 2_000;

/** Room left in a packet for the protocol around a statement. */
const packetMargin = 4 * 1024;

/** How large the writer's statements and packets grow, in bytes of UTF-8 SQL text. */
export interface StatementLimits {
  /** A multi-row statement, and a packet of statements, is closed before it passes this. */
  readonly statementBytes: number;
  /** No statement may pass this (the server's max_allowed_packet less the protocol's room). */
  readonly maxBytes: number;
}

export function statementLimits(maxAllowedPacket: number): StatementLimits {
  const maxBytes = Math.max(16 * 1024, maxAllowedPacket - packetMargin);
  return { statementBytes: Math.min(maxBytes, 4 * 1024 * 1024), maxBytes };
}

/** One write applied alone, for finding the row the server refuses. */
export interface SingleWrite {
  readonly sql: string;
  readonly origin: Origin;
  readonly key: Readonly<Record<string, unknown>>;
}

/** A statement of SQL text with its values inline, and its size as sent. */
export interface WriteStatement {
  readonly sql: string;
  readonly bytes: number;
  /** Its writes one statement each; absent for statements that are no row's (dead letters). */
  readonly singles?: () => SingleWrite[];
}

/** Called for a write whose statement alone would pass `maxBytes`: it is left out. */
export type OnOversized = (write: KeyedWrite, table: TableWrites, bytes: number) => void;

/**
 * A chunk's writes as statements, in the order the writer applies them: resets, then per table
 * key copies, deletes, updates, upserts. Each statement's text is built once, from the values as
 * literals, and measured in bytes while it is built: a statement is closed before it passes
 * `statementBytes`, and a row that alone would pass `maxBytes` goes to `onOversized` instead.
 */
export function* chunkStatements(
  chunk: WriteChunk,
  limits: StatementLimits,
  onOversized: OnOversized,
): Generator<WriteStatement> {
  for (const reset of chunk.resets) {
    const { sql } = resetTable(reset.table, reset.set, reset.owner);
    yield single({ sql, origin: reset.origin, key: {} });
  }
  for (const table of chunk.tables) {
    for (const copy of table.copies ?? []) yield single(copySingle(table, copy));
    const deletes = deleteKeysFrame(table.table, table.keyColumns, table.owner);
    yield* listStatements(table, deletes, table.deletes, keyItem, limits, onOversized);
    for (const { set, writes } of updateGroups(table.updates)) {
      const frame = updateKeysFrame(table.table, table.keyColumns, set, table.owner);
      yield* listStatements(table, frame, writes, keyItem, limits, onOversized);
    }
    for (const { columns, writes } of upsertGroups(table.upserts)) {
      const frame = upsertFrame(table.table, columns, table.keyColumns);
      const rowItem = (write: RowWrite) => rowLiteral(write.row, columns);
      yield* listStatements(table, frame, writes, rowItem, limits, onOversized);
    }
  }
}

function keyItem(write: KeyedWrite): string {
  return keyLiteral(write.key);
}

function single(write: SingleWrite): WriteStatement {
  return { sql: write.sql, bytes: Buffer.byteLength(write.sql), singles: () => [write] };
}

function copySingle(table: TableWrites, copy: KeyCopy): SingleWrite {
  const { sql } = copyRow(
    table.table,
    table.keyColumns,
    copy.columns,
    copy.from,
    copy.to,
    table.owner,
  );
  return { sql, origin: copy.origin, key: targetKeyRecord(table.keyColumns, copy.to) };
}

/**
 * Statements of `frame` around the items of `writes` (one literal list each), as many rows as
 * fit: the one pass that builds the text also sizes it.
 */
function* listStatements<W extends KeyedWrite>(
  table: TableWrites,
  frame: ListFrame,
  writes: readonly W[],
  itemOf: (write: W) => string,
  limits: StatementLimits,
  onOversized: OnOversized,
): Generator<WriteStatement> {
  if (writes.length === 0) return;
  const frameBytes = Buffer.byteLength(frame.head) + Buffer.byteLength(frame.tail);
  // The text grows by concatenation and is copied flat once, into its packet.
  let text = '';
  let included: W[] = [];
  let bytes = frameBytes;
  const statement = (): WriteStatement => {
    const parts = included;
    return {
      sql: `${frame.head}${text}${frame.tail}`,
      bytes,
      singles: () =>
        parts.map((write) => ({
          sql: `${frame.head}${itemOf(write)}${frame.tail}`,
          origin: write.origin,
          key: targetKeyRecord(table.keyColumns, write.key),
        })),
    };
  };
  for (const write of writes) {
    const item = itemOf(write);
    const size = Buffer.byteLength(item) + 1;
    if (frameBytes + size > limits.maxBytes) {
      onOversized(write, table, frameBytes + size);
      continue;
    }
    if (
      included.length > 0 &&
      (included.length >= maxRowsPerStatement || bytes + size > limits.statementBytes)
    ) {
      yield statement();
      text = '';
      included = [];
      bytes = frameBytes;
    }
    text = included.length === 0 ? item : `${text},${item}`;
    included.push(write);
    bytes += size;
  }
  if (included.length > 0) yield statement();
}

/** Rows grouped by the set of columns they set, so a partial row never nulls a column. */
function upsertGroups(
  upserts: readonly RowWrite[],
): Iterable<{ columns: string[]; writes: RowWrite[] }> {
  const bySignature = new Map<string, { columns: string[]; writes: RowWrite[] }>();
  let group: { columns: string[]; writes: RowWrite[] } | undefined;
  for (const write of upserts) {
    // Consecutive rows mostly share their columns: only a change of them is looked up.
    if (group === undefined || !setsExactly(write.row, group.columns)) {
      const columns = Object.keys(write.row);
      const signature = columns.join('\u0000');
      group = bySignature.get(signature);
      if (!group) {
        group = { columns, writes: [] };
        bySignature.set(signature, group);
      }
    }
    group.writes.push(write);
  }
  return bySignature.values();
}

/** Whether the row's own keys are `columns`, in that order, without allocating their list. */
function setsExactly(row: TargetRow, columns: readonly string[]): boolean {
  let index = 0;
  for (const column in row) if (columns[index++] !== column) return false;
  return index === columns.length;
}

/** Update-only writes grouped by identical SET values (soft deletes of one batch share them). */
function updateGroups(
  updates: readonly RowWrite[],
): Iterable<{ set: TargetRow; writes: RowWrite[] }> {
  const bySignature = new Map<string, { set: TargetRow; writes: RowWrite[] }>();
  for (const write of updates) {
    const signature = JSON.stringify(write.row, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
    let group = bySignature.get(signature);
    if (!group) {
      group = { set: write.row, writes: [] };
      bySignature.set(signature, group);
    }
    group.writes.push(write);
  }
  return bySignature.values();
}
