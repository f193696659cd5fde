import type { CompiledMapping, RowOwner, TargetRow } from '../mapping/compiled-mapping.js';
import type { TargetValue } from '../values/column-types.js';
import { targetKeyIdentity } from '../values/key-text.js';
import { rowBytes } from './row-bytes.js';
import type {
  DeadLetter,
  KeyCopy,
  KeyedWrite,
  Origin,
  RowWrite,
  TableReset,
  TableWrites,
  WriteChunk,
} from './write-chunk.js';

/** A target key's values, in the table's key column order. */
type TargetKey = readonly TargetValue[];

/**
 * The state of one target key after the changes seen so far in this batch. The writer applies
 * deletes, then updates, then upserts, which leaves the key exactly as applying the changes one
 * by one would:
 * - `deleted`: a delete was seen, so the stored row goes first (a delete then a partial row must
 *   not keep the old row's other columns);
 * - `update`: columns set on the stored row, if there is one, before any upsert (a soft delete
 *   never creates a row, and must not leak into a row an upsert creates);
 * - `row`: an upsert of these columns; later updates merge into it, since the row exists then.
 */
interface KeyState {
  key: readonly TargetValue[];
  deleted: boolean;
  update: TargetRow | undefined;
  row: TargetRow | undefined;
  origin: Origin;
}

interface TableState {
  readonly table: string;
  readonly owner: RowOwner | undefined;
  readonly keyColumns: readonly string[];
  readonly keys: Map<string, KeyState>;
  readonly copies: KeyCopy[];
}

/**
 * Coalesces target writes per key (docs/architecture.md: the last change wins, insert-then-delete becomes
 * a delete, partial rows merge) and hands them to the writer as one chunk.
 */
export class TargetBatch {
  private readonly tables = new Map<string, TableState>();
  private resets: TableReset[] = [];
  private deadLetters: DeadLetter[] = [];
  private entries = 0;
  private rowBytes = 0;

  /** Writes held: coalesced keys, resets and dead letters. */
  get size(): number {
    return this.entries + this.resets.length + this.deadLetters.length;
  }

  /**
   * Approximate bytes of the rows held (an upper bound: a coalesced row counts each version it
   * merged), so a batch of wide rows is flushed long before it fills the heap.
   */
  get bytes(): number {
    return this.rowBytes;
  }

  upsert(mapping: CompiledMapping, key: TargetKey, row: TargetRow, origin: Origin): void {
    const state = this.stateFor(mapping, key, origin);
    state.row = state.row === undefined ? row : { ...state.row, ...row };
    state.origin = origin;
    this.rowBytes += rowBytes(row);
  }

  delete(mapping: CompiledMapping, key: TargetKey, origin: Origin): void {
    const state = this.stateFor(mapping, key, origin);
    state.deleted = true;
    state.update = undefined;
    state.row = undefined;
    state.origin = origin;
  }

  /** Sets columns on the row if it exists (soft delete); never creates it. */
  update(mapping: CompiledMapping, key: TargetKey, row: TargetRow, origin: Origin): void {
    const state = this.stateFor(mapping, key, origin);
    if (state.row !== undefined) state.row = { ...state.row, ...row };
    else if (!state.deleted)
      state.update = state.update === undefined ? row : { ...state.update, ...row };
    // else: updating a row this batch deleted changes nothing
    state.origin = origin;
  }

  /**
   * Carries `columns` of the target row at `from` over to `to` (see KeyCopy). The caller
   * writes the change alone in its chunk, so no coalesced write of either key precedes it.
   */
  copy(mapping: CompiledMapping, copy: KeyCopy): void {
    this.tableFor(mapping).copies.push(copy);
    this.entries++;
  }

  /** A whole-table reset; the caller flushes before and after so stream order holds. */
  reset(reset: TableReset): void {
    this.resets.push(reset);
  }

  deadLetter(letter: DeadLetter): void {
    this.deadLetters.push(letter);
  }

  /** The coalesced writes, and an empty batch for what comes next. */
  take(): WriteChunk {
    const tables: TableWrites[] = [];
    for (const state of this.tables.values()) {
      const deletes: KeyedWrite[] = [];
      const upserts: RowWrite[] = [];
      const updates: RowWrite[] = [];
      for (const entry of state.keys.values()) {
        if (entry.deleted) deletes.push({ key: entry.key, origin: entry.origin });
        if (entry.update !== undefined) {
          updates.push({ key: entry.key, row: entry.update, origin: entry.origin });
        }
        if (entry.row !== undefined)
          upserts.push({ key: entry.key, row: entry.row, origin: entry.origin });
      }
      tables.push({
        table: state.table,
        keyColumns: state.keyColumns,
        deletes,
        upserts,
        updates,
        ...(state.copies.length > 0 ? { copies: state.copies } : {}),
        ...(state.owner ? { owner: state.owner } : {}),
      });
    }
    const chunk: WriteChunk = { resets: this.resets, tables, deadLetters: this.deadLetters };
    this.tables.clear();
    this.resets = [];
    this.deadLetters = [];
    this.entries = 0;
    this.rowBytes = 0;
    return chunk;
  }

  /**
   * The writes of one target table, apart for each owner of a shared table: a removal by one
   * mapping must neither cancel another's upsert of the key nor reach its row.
   */
  private tableFor(mapping: CompiledMapping): TableState {
    const id = `${mapping.target}\u0000${mapping.owner?.value ?? ''}`;
    let table = this.tables.get(id);
    if (!table) {
      table = {
        table: mapping.target,
        owner: mapping.owner,
        keyColumns: mapping.keyColumns,
        keys: new Map(),
        copies: [],
      };
      this.tables.set(id, table);
    }
    return table;
  }

  private stateFor(
    mapping: CompiledMapping,
    key: readonly TargetValue[],
    origin: Origin,
  ): KeyState {
    const table = this.tableFor(mapping);
    const id = targetKeyIdentity(key);
    let state = table.keys.get(id);
    if (!state) {
      state = { key, deleted: false, update: undefined, row: undefined, origin };
      table.keys.set(id, state);
      this.entries++;
    }
    return state;
  }
}
