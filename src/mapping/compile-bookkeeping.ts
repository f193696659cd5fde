import { MappingError } from '../errors/millrace-error.js';
import type { TargetValue } from '../values/column-types.js';
import { failCompile } from './compile-failure.js';
import type { ChangeMeta, TargetRow } from './compiled-mapping.js';
import type { NamedColumn } from './direction-types.js';
import type { MappingSpec } from './mapping-spec.js';
import type { ResolvedBookkeeping, ResolvedMapping } from './resolve-mapping.js';

/** The soft-delete and metadata columns of a compiled mapping, and how each row gets them. */
export interface CompiledBookkeeping {
  readonly flag?: string;
  readonly deletedAt?: string;
  readonly lsn?: string;
  readonly syncedAt?: string;
  /** What every insert or update sets: the flag cleared, no deletion time. */
  readonly liveColumns: readonly (readonly [string, TargetValue])[];
  /** The metadata columns of one change. */
  metaColumns(change: ChangeMeta): readonly (readonly [string, TargetValue])[];
  softDeleteRow(change: ChangeMeta): TargetRow;
}

interface Writer<T> {
  readonly name: string;
  readonly write: (value: T) => TargetValue;
}

function writerOf<V, T extends NamedColumn>(
  spec: MappingSpec,
  part: ResolvedBookkeeping<V, T> | undefined,
) {
  if (part === undefined) return undefined;
  const made = part.made!;
  const write = made.ok ? made.write : failCompile(spec, part.field, made.reason);
  return { name: part.column!.name, write } satisfies Writer<V>;
}

/** Writes soft deletes and metadata; fails for a column whose type cannot hold what it gets. */
export function compileBookkeeping<S, T extends NamedColumn>(
  spec: MappingSpec,
  resolved: ResolvedMapping<S, T>,
): CompiledBookkeeping {
  const flag = writerOf(spec, resolved.flag);
  const deletedAt = writerOf(spec, resolved.deletedAt);
  const lsn = writerOf(spec, resolved.lsn);
  const syncedAt = writerOf(spec, resolved.syncedAt);

  // Metadata values change per transaction, not per row: computed once per ChangeMeta object.
  let lastMeta: ChangeMeta | undefined;
  let metaValues: [string, TargetValue][] = [];
  let lastDeleteMeta: ChangeMeta | undefined;
  let deleteRow: TargetRow = {};
  const metaColumns = (change: ChangeMeta): [string, TargetValue][] => {
    if (change === lastMeta) return metaValues;
    const values: [string, TargetValue][] = [];
    if (lsn) values.push([lsn.name, lsn.write(change.lsn)]);
    if (syncedAt) values.push([syncedAt.name, syncedAt.write(change.syncedAt)]);
    lastMeta = change;
    metaValues = values;
    return values;
  };
  const liveColumns: [string, TargetValue][] = [];
  if (flag) liveColumns.push([flag.name, flag.write(false)]);
  if (deletedAt) liveColumns.push([deletedAt.name, null]);

  return {
    ...(flag ? { flag: flag.name } : {}),
    ...(deletedAt ? { deletedAt: deletedAt.name } : {}),
    ...(lsn ? { lsn: lsn.name } : {}),
    ...(syncedAt ? { syncedAt: syncedAt.name } : {}),
    liveColumns,
    metaColumns,
    softDeleteRow(change) {
      if (!flag) {
        throw new MappingError(
          'MAPPING_NOT_SOFT',
          `${spec.file}: ${spec.name}: softDeleteRow needs onDelete: soft`,
        );
      }
      if (change === lastDeleteMeta) return deleteRow;
      const out: Record<string, TargetValue> = { [flag.name]: flag.write(true) };
      if (deletedAt) out[deletedAt.name] = deletedAt.write(change.syncedAt);
      for (const [name, value] of metaColumns(change)) out[name] = value;
      lastDeleteMeta = change;
      deleteRow = Object.freeze(out);
      return deleteRow;
    },
  };
}
