import { describeError, RuntimeFailure, ValueError } from '../errors/millrace-error.js';
import type { ChangeMeta, CompiledMapping, SourceRow } from '../mapping/compiled-mapping.js';
import { formatLsn } from '../util/lsn.js';
import type { TargetValue } from '../values/column-types.js';
import { sameTargetKey } from '../values/key-text.js';
import type { OnBadRow } from '../writes/refuse-row.js';
import type { TargetBatch } from '../writes/target-batch.js';
import type { Origin } from '../writes/write-chunk.js';
import type { ChangeEvent, TruncateEvent } from './source-event.js';

/** Why a target row goes away: the source deleted it, its key changed, or it left the filter. */
type Removal = 'delete' | 'rekey' | 'filter';

interface ChangeMapperOptions {
  /** Mappings by source table (`schema.table`); several per table is fan-out. */
  readonly mappingsByTable: ReadonlyMap<string, readonly CompiledMapping[]>;
  /** A value that cannot be converted: record a dead letter, or stop. */
  readonly onBadRow: OnBadRow;
}

/**
 * Turns source changes into target writes through the compiled mappings: filter enter/leave,
 * key changes, onDelete policies, TRUNCATE. A bad value becomes a dead letter for that mapping
 * only; the other mappings of the same change still apply.
 */
export class ChangeMapper {
  private readonly mappingsByTable: ReadonlyMap<string, readonly CompiledMapping[]>;
  private readonly onBadRow: OnBadRow;

  constructor(options: ChangeMapperOptions) {
    this.mappingsByTable = options.mappingsByTable;
    this.onBadRow = options.onBadRow;
  }

  isMapped(table: string): boolean {
    return this.mappingsByTable.has(table);
  }

  /** Adds the writes for one row change to the batch. */
  mapChange(change: ChangeEvent, meta: ChangeMeta, batch: TargetBatch): void {
    const mappings = this.mappingsByTable.get(change.table);
    if (!mappings) return;
    for (const mapping of mappings) {
      const origin: Origin = {
        mapping: mapping.name,
        lsn: meta.lsn,
        operation: change.kind,
        sourceValues: change.row ?? change.old,
      };
      try {
        this.mapOne(mapping, change, meta, origin, batch);
      } catch (error) {
        if (!(error instanceof ValueError)) throw error;
        this.refuse(mapping, change, origin, error, batch);
      }
    }
  }

  /** Adds the writes a TRUNCATE of mapped tables implies. */
  mapTruncate(truncate: TruncateEvent, meta: ChangeMeta, batch: TargetBatch): void {
    for (const table of truncate.tables) {
      for (const mapping of this.mappingsByTable.get(table) ?? []) {
        if (mapping.onDelete === 'ignore') continue;
        const origin: Origin = {
          mapping: mapping.name,
          lsn: meta.lsn,
          operation: 'truncate',
          sourceValues: null,
        };
        batch.reset({
          table: mapping.target,
          ...(mapping.onDelete === 'soft' ? { set: mapping.softDeleteRow(meta) } : {}),
          ...(mapping.owner ? { owner: mapping.owner } : {}),
          origin,
        });
      }
    }
  }

  private mapOne(
    mapping: CompiledMapping,
    change: ChangeEvent,
    meta: ChangeMeta,
    origin: Origin,
    batch: TargetBatch,
  ): void {
    if (change.kind === 'delete') {
      if (change.old) this.remove(mapping, mapping.key(change.old), 'delete', meta, origin, batch);
      return;
    }
    const row = change.row as SourceRow;
    const key = mapping.key(row);
    let movedFrom: readonly TargetValue[] | undefined;
    if (
      change.kind === 'update' &&
      change.old &&
      hasColumns(change.old, mapping.sourceKeyColumns)
    ) {
      const oldKey = mapping.key(change.old);
      if (!sameTargetKey(oldKey, key)) movedFrom = oldKey;
    }
    if (mapping.matches(row) === false) {
      if (movedFrom) this.remove(mapping, movedFrom, 'rekey', meta, origin, batch);
      if (change.kind === 'update') this.remove(mapping, key, 'filter', meta, origin, batch);
      return;
    }
    const projected = mapping.project(row, meta);
    if (movedFrom) {
      // The new key's row must not lose what the source did not send (unchanged TOAST): the
      // old key's target row lends it, before the old key is removed.
      const missing = mapping.targetColumns.filter(
        (column) => !(column in projected) && !mapping.keyColumns.includes(column),
      );
      if (missing.length > 0)
        batch.copy(mapping, { from: movedFrom, to: key, columns: missing, origin });
      this.remove(mapping, movedFrom, 'rekey', meta, origin, batch);
    }
    batch.upsert(mapping, key, projected, origin);
  }

  private remove(
    mapping: CompiledMapping,
    key: readonly TargetValue[],
    why: Removal,
    meta: ChangeMeta,
    origin: Origin,
    batch: TargetBatch,
  ): void {
    switch (mapping.onDelete) {
      case 'delete':
        batch.delete(mapping, key, origin);
        return;
      case 'soft':
        batch.update(mapping, key, mapping.softDeleteRow(meta), origin);
        return;
      case 'ignore':
        // The target keeps history of source deletes, but a row that left the filter is out of scope.
        if (why === 'filter') batch.delete(mapping, key, origin);
        return;
    }
  }

  private refuse(
    mapping: CompiledMapping,
    change: ChangeEvent,
    origin: Origin,
    error: ValueError,
    batch: TargetBatch,
  ): void {
    if (this.onBadRow === 'stop') {
      throw new RuntimeFailure(
        'BAD_ROW',
        `${describeError(error)} (lsn ${origin.lsn === null ? '?' : formatLsn(origin.lsn)}); stopped without acknowledging it (--on-error stop)`,
        { cause: error, context: { mapping: mapping.name } },
      );
    }
    const source = change.row ?? change.old ?? {};
    const key: Record<string, unknown> = {};
    mapping.sourceKeyColumns.forEach((column, index) => {
      key[mapping.keyColumns[index]!] = source[column];
    });
    batch.deadLetter({ origin, key, error: describeError(error) });
  }
}

function hasColumns(row: SourceRow, columns: readonly string[]): boolean {
  return columns.every((column) => row[column] !== undefined && typeof row[column] !== 'symbol');
}
