import { ValueError } from '../errors/millrace-error.js';
import type { TargetValue } from '../values/column-types.js';
import type { Conversion } from '../values/compile-conversion.js';
import { type CompiledBookkeeping, compileBookkeeping } from './compile-bookkeeping.js';
import { type ColumnOp, compileColumn } from './compile-column.js';
import { convertOrFail, failCompile } from './compile-failure.js';
import { compileFilter } from './compile-filter.js';
import { type CompiledMapping, type SourceRow, UNCHANGED } from './compiled-mapping.js';
import type { DirectionTypes, NamedColumn } from './direction-types.js';
import type { MappingSpec } from './mapping-spec.js';
import { type ResolvedMapping, resolveMapping } from './resolve-mapping.js';
import type { SourceTable, TargetTable } from './tables.js';
import { toMesTypes } from './to-mes-types.js';

interface KeyOp {
  readonly target: string;
  readonly from: string;
  readonly convert: Conversion;
}

/** Whether any of `deps` is UNCHANGED or missing from the row. */
function absent(row: SourceRow, deps: readonly string[]): boolean {
  for (const dep of deps) {
    const value = row[dep];
    if (value === UNCHANGED || value === undefined) return true;
  }
  return false;
}

/** The filter's closures; a literal that is not a value of its column's type fails the compile. */
function compileMatches<S, T extends NamedColumn>(
  spec: MappingSpec,
  types: DirectionTypes<S, T>,
  source: SourceTable<S>,
) {
  const typeOf = (column: string) => source.columns.get(column)!.type;
  return compileFilter(spec.filter, {
    orderOf: (column) => types.sourceOrder(typeOf(column)),
    invalid: (condition, literal, expects) =>
      failCompile(
        spec,
        condition.field,
        `'${literal}' is not ${expects} (${condition.column} is ${types.describeSource(typeOf(condition.column))})`,
      ),
  });
}

/** Every name resolved, or the first one that is not as a compile failure. */
function resolveOrFail<S, T extends NamedColumn>(
  spec: MappingSpec,
  source: SourceTable<S>,
  target: TargetTable<T>,
  types: DirectionTypes<S, T>,
): ResolvedMapping<S, T> {
  const resolved = resolveMapping(spec, source, target, { placeholder: 'source column', types });
  const first = resolved.problems.find((problem) => problem.level === 'error');
  if (first) failCompile(spec, first.field, first.message);
  return resolved;
}

/** The key's source column for each key column, converted; a row without it is a bad row. */
function compileKeyValue(spec: MappingSpec) {
  return (op: KeyOp, row: SourceRow): TargetValue => {
    const value = row[op.from];
    if (value === UNCHANGED || value === undefined) {
      throw new ValueError(
        'VALUE_KEY_MISSING',
        `${spec.name}: ${op.target}: key column ${op.from} is missing from the row`,
        { context: { mapping: spec.name, column: op.target } },
      );
    }
    return op.convert(value);
  };
}

type Outline = Omit<CompiledMapping, 'matches' | 'key' | 'project' | 'softDeleteRow'>;

/** The compiled mapping's names and column lists, frozen. */
function outline(
  spec: MappingSpec,
  keyOps: readonly KeyOp[],
  columnOps: readonly ColumnOp[],
  filter: ResolvedMapping<unknown, NamedColumn>['filter'],
  bookkeeping: CompiledBookkeeping,
): Outline {
  const { flag, deletedAt, lsn, syncedAt } = bookkeeping;
  const sourceColumns = new Set([
    ...keyOps.map((op) => op.from),
    ...columnOps.flatMap((op) => op.deps),
    ...filter.map(({ condition }) => condition.column),
  ]);
  const targetColumns = [
    ...keyOps.map((op) => op.target),
    ...columnOps.map((op) => op.target),
    ...bookkeeping.liveColumns.map(([name]) => name),
    ...(lsn ? [lsn] : []),
    ...(syncedAt ? [syncedAt] : []),
  ];
  return {
    name: spec.name,
    file: spec.file,
    direction: spec.direction,
    source: Object.freeze({ schema: spec.source.schema, table: spec.source.table }),
    sourceKey: spec.sourceKey,
    target: spec.target,
    keyColumns: Object.freeze(keyOps.map((op) => op.target)),
    sourceKeyColumns: Object.freeze(keyOps.map((op) => op.from)),
    sourceColumns: Object.freeze([...sourceColumns]),
    targetColumns: Object.freeze(targetColumns),
    onDelete: spec.onDelete,
    ...(spec.owner ? { owner: spec.owner } : {}),
    ...(flag
      ? { softDelete: Object.freeze({ flag, ...(deletedAt ? { at: deletedAt } : {}) }) }
      : {}),
    ...(spec.metadata
      ? {
          metadata: Object.freeze({
            ...(lsn ? { lsn } : {}),
            ...(syncedAt ? { syncedAt } : {}),
          }),
        }
      : {}),
  };
}

/**
 * Compiles a mapping against the live source and target tables into the closures of
 * CompiledMapping. Everything that can be decided once is decided here: column lookups,
 * conversions, map keys in the source type's order, filter literals, constants. A reference that
 * does not resolve throws MappingError naming file, mapping and field; `checkMapping` lists every
 * such problem at once, this stops at the first.
 */
export function compileMapping(
  spec: MappingSpec,
  sourceTable: SourceTable,
  targetTable: TargetTable,
): CompiledMapping;
export function compileMapping<S, T extends NamedColumn>(
  spec: MappingSpec,
  sourceTable: SourceTable<S>,
  targetTable: TargetTable<T>,
  types: DirectionTypes<S, T>,
): CompiledMapping;
export function compileMapping<S, T extends NamedColumn>(
  spec: MappingSpec,
  sourceTable: SourceTable<S>,
  targetTable: TargetTable<T>,
  types: DirectionTypes<S, T> = toMesTypes as unknown as DirectionTypes<S, T>,
): CompiledMapping {
  const resolved = resolveOrFail(spec, sourceTable, targetTable, types);
  const keyOps: KeyOp[] = resolved.key.map(({ column, source, from, field }) => ({
    target: column!.name,
    from,
    convert: convertOrFail(spec, types, source!.type, column!, field),
  }));
  const columnOps: ColumnOp[] = resolved.columns.map((column) =>
    compileColumn(spec, types, column),
  );
  const matches = compileMatches(spec, types, sourceTable);
  const bookkeeping = compileBookkeeping(spec, resolved);
  const { liveColumns, metaColumns } = bookkeeping;
  const keyValue = compileKeyValue(spec);
  const shape = outline(spec, keyOps, columnOps, resolved.filter, bookkeeping);

  // Private and never handed out; not frozen because spreading a frozen object is the slow path.
  const rowTemplate: Record<string, TargetValue> = Object.fromEntries(
    shape.targetColumns.map((name) => [name, null] as const),
  );

  const compiled: CompiledMapping = {
    ...shape,
    matches,
    key(row) {
      const values: TargetValue[] = [];
      for (const op of keyOps) values.push(keyValue(op, row));
      return values;
    },
    project(row, change) {
      // Copying a template gives every row the same hidden class with all properties in place;
      // building it key by key costs a shape transition per column. A column left out because
      // of an UNCHANGED source column is deleted afterwards (rare: TOASTed updates only).
      const out: Record<string, TargetValue> = { ...rowTemplate };
      let leftOut: string[] | undefined;
      for (const op of keyOps) out[op.target] = keyValue(op, row);
      for (const op of columnOps) {
        if (op.deps.length > 0 && absent(row, op.deps)) {
          leftOut ??= [];
          leftOut.push(op.target);
        } else out[op.target] = op.compute(row);
      }
      for (const [name, value] of liveColumns) out[name] = value;
      for (const [name, value] of metaColumns(change)) out[name] = value;
      if (leftOut) for (const name of leftOut) delete out[name];
      return out;
    },
    softDeleteRow: bookkeeping.softDeleteRow,
  };
  return Object.freeze(compiled);
}
