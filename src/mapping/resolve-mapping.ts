import type { SourceType, TargetColumn } from '../values/column-types.js';
import type { DirectionTypes, NamedColumn } from './direction-types.js';
import { type MappingProblem, problemAt } from './mapping-problem.js';
import {
  type ColumnRule,
  type FilterCondition,
  filterConditions,
  type MappingSpec,
} from './mapping-spec.js';
import type { MetaColumn } from './metadata-values.js';
import type { SourceColumn, SourceTable, TargetTable } from './tables.js';
import { toMesTypes } from './to-mes-types.js';

/** A key entry with both of its columns looked up (undefined where the name does not resolve). */
interface ResolvedKey<S, T> {
  /** The target column as the YAML spells it. */
  readonly target: string;
  readonly from: string;
  readonly field: string;
  readonly source: SourceColumn<S> | undefined;
  readonly column: T | undefined;
  readonly problems: readonly MappingProblem[];
}

/** A mapped column: its target column and the source columns its rule reads. */
export interface ResolvedColumn<S = SourceType, T = TargetColumn> {
  readonly target: string;
  readonly field: string;
  readonly rule: ColumnRule;
  readonly column: T | undefined;
  /** The source columns the rule reads that exist, by name; a missing one is a problem. */
  readonly reads: ReadonlyMap<string, SourceColumn<S>>;
  readonly problems: readonly MappingProblem[];
}

/** A soft-delete or metadata column, with how it is written (or why it cannot be). */
export interface ResolvedBookkeeping<V, T = TargetColumn> {
  readonly field: string;
  readonly column: T | undefined;
  /** Undefined when the column does not resolve. */
  readonly made: MetaColumn<V> | undefined;
  readonly problems: readonly MappingProblem[];
}

export interface ResolvedCondition<S = SourceType> {
  readonly condition: FilterCondition;
  /** The condition's column in the YAML (`filter.state`), without the operator. */
  readonly columnField: string;
  readonly column: SourceColumn<S> | undefined;
  readonly problems: readonly MappingProblem[];
}

/**
 * A mapping with every name looked up in the live schemas, once, for both `mappings check` and
 * the compiler. Each part keeps the problems of its own names, so a check can report them in
 * YAML order next to what it finds itself.
 */
export interface ResolvedMapping<S = SourceType, T extends NamedColumn = TargetColumn> {
  readonly spec: MappingSpec;
  /** The column types of the mapping's direction. */
  readonly types: DirectionTypes<S, T>;
  readonly source: SourceTable<S> | undefined;
  readonly target: TargetTable<T> | undefined;
  /** Missing tables, or a partition where its partitioned table belongs. */
  readonly tableProblems: readonly MappingProblem[];
  readonly key: readonly ResolvedKey<S, T>[];
  readonly columns: readonly ResolvedColumn<S, T>[];
  readonly flag: ResolvedBookkeeping<boolean, T> | undefined;
  readonly deletedAt: ResolvedBookkeeping<Date, T> | undefined;
  readonly lsn: ResolvedBookkeeping<bigint, T> | undefined;
  readonly syncedAt: ResolvedBookkeeping<Date, T> | undefined;
  /** Filter conditions, depth first. */
  readonly filter: readonly ResolvedCondition<S>[];
  /** Lower-cased names of every target column the mapping writes. */
  readonly written: ReadonlySet<string>;
  /** Every problem above, in YAML order. */
  readonly problems: readonly MappingProblem[];
}

interface ResolveOptions<S, T extends NamedColumn> {
  /** The direction's column types; the to-mes ones when absent. */
  readonly types?: DirectionTypes<S, T>;
  /**
   * How a missing `{column}` of a template is named: `mappings check` says template placeholder,
   * compile errors have always said source column.
   */
  readonly placeholder?: string;
}

/** Looks up names for one mapping; each lookup files its problems where the caller says. */
function lookups<S, T extends NamedColumn>(
  spec: MappingSpec,
  source?: SourceTable<S>,
  target?: TargetTable<T>,
) {
  const targetByName = new Map<string, T>();
  for (const column of target?.columns.values() ?? [])
    targetByName.set(column.name.toLowerCase(), column);
  const generated = new Set((target?.generatedColumns ?? []).map((name) => name.toLowerCase()));
  const error = (problems: MappingProblem[], code: string, field: string, message: string) =>
    problems.push(problemAt(spec, 'error', code, field, message));
  return {
    sourceColumn(problems: MappingProblem[], name: string, field: string, what = 'source column') {
      if (!source) return undefined;
      const column = source.columns.get(name);
      if (!column)
        error(
          problems,
          'SOURCE_COLUMN_MISSING',
          field,
          `${what} ${name} does not exist in ${spec.sourceKey}`,
        );
      return column;
    },
    targetColumn(problems: MappingProblem[], name: string, field: string) {
      if (!target) return undefined;
      const column = targetByName.get(name.toLowerCase());
      if (!column) {
        error(
          problems,
          'TARGET_COLUMN_MISSING',
          field,
          `target column ${name} does not exist in ${spec.target}`,
        );
      } else if (generated.has(column.name.toLowerCase())) {
        error(
          problems,
          'TARGET_COLUMN_GENERATED',
          field,
          `target column ${column.name} of ${spec.target} is generated: it cannot be written`,
        );
      }
      return column;
    },
  };
}

type Lookups<S, T extends NamedColumn> = ReturnType<typeof lookups<S, T>>;

function tableProblems<S, T extends NamedColumn>(
  spec: MappingSpec,
  types: DirectionTypes<S, T>,
  source?: SourceTable<S>,
  target?: TargetTable<T>,
) {
  const problems: MappingProblem[] = [];
  const error = (code: string, field: string, message: string) =>
    problems.push(problemAt(spec, 'error', code, field, message));
  if (!source) {
    error(
      'SOURCE_TABLE_MISSING',
      'source',
      `table ${spec.sourceKey} does not exist in ${types.sourceSide} (or is not a table)`,
    );
  } else if (source.partitionOf) {
    error(
      'SOURCE_IS_PARTITION',
      'source',
      `${spec.sourceKey} is a partition of ${source.partitionOf}: map the partitioned table (changes are published through it)`,
    );
  }
  if (!target)
    error(
      'TARGET_TABLE_MISSING',
      'target',
      `table ${spec.target} does not exist in ${types.targetSide} (run millrace migrate?)`,
    );
  return problems;
}

function resolveColumn<S, T extends NamedColumn>(
  spec: MappingSpec,
  { target, rule }: MappingSpec['columns'][number],
  find: Lookups<S, T>,
  placeholder: string,
): ResolvedColumn<S, T> {
  const field = `columns.${target}`;
  const problems: MappingProblem[] = [];
  const column = find.targetColumn(problems, target, field);
  const reads = new Map<string, SourceColumn<S>>();
  const read = (name: string, at: string, what?: string) => {
    const found = find.sourceColumn(problems, name, at, what);
    if (found) reads.set(name, found);
  };
  if (rule.kind === 'copy' || rule.kind === 'derive') {
    // A rule written as an object has its own `from` line; a plain copy is the column's line.
    read(rule.from, spec.lines.has(`${field}.from`) ? `${field}.from` : field);
  } else if (rule.kind === 'template') {
    for (const part of rule.parts)
      if (part.kind === 'column') read(part.column, `${field}.template`, placeholder);
  }
  return { target, field, rule, column, reads, problems };
}

function resolveBookkeeping<V, S, T extends NamedColumn>(
  name: string | undefined,
  field: string,
  find: Lookups<S, T>,
  write: (column: T) => MetaColumn<V>,
): ResolvedBookkeeping<V, T> | undefined {
  if (name === undefined) return undefined;
  const problems: MappingProblem[] = [];
  const column = find.targetColumn(problems, name, field);
  return { field, column, made: column && write(column), problems };
}

/** The target columns a mapping writes, lower-cased (MySQL names are case-insensitive). */
function writtenColumns(spec: MappingSpec): ReadonlySet<string> {
  const names = [
    ...spec.key.map((entry) => entry.target),
    ...spec.columns.map((entry) => entry.target),
    spec.softDelete?.flag,
    spec.softDelete?.at,
    spec.metadata?.lsn,
    spec.metadata?.syncedAt,
  ];
  return new Set(names.flatMap((name) => (name === undefined ? [] : [name.toLowerCase()])));
}

/**
 * Looks up every table and column a mapping names. A name that does not resolve is a problem and
 * leaves its part undefined; the rest still resolves, so a check can list every problem at once.
 */
export function resolveMapping(
  spec: MappingSpec,
  source: SourceTable | undefined,
  target: TargetTable | undefined,
  options?: ResolveOptions<SourceType, TargetColumn>,
): ResolvedMapping;
export function resolveMapping<S, T extends NamedColumn>(
  spec: MappingSpec,
  source: SourceTable<S> | undefined,
  target: TargetTable<T> | undefined,
  options: ResolveOptions<S, T> & { readonly types: DirectionTypes<S, T> },
): ResolvedMapping<S, T>;
export function resolveMapping<S, T extends NamedColumn>(
  spec: MappingSpec,
  source: SourceTable<S> | undefined,
  target: TargetTable<T> | undefined,
  options: ResolveOptions<S, T> = {},
): ResolvedMapping<S, T> {
  const types = options.types ?? (toMesTypes as unknown as DirectionTypes<S, T>);
  const find = lookups(spec, source, target);
  const key = spec.key.map(({ target: name, from }): ResolvedKey<S, T> => {
    const field = `key.${name}`;
    const problems: MappingProblem[] = [];
    const fromColumn = find.sourceColumn(problems, from, field);
    const column = find.targetColumn(problems, name, field);
    return { target: name, from, field, source: fromColumn, column, problems };
  });
  const placeholder = options.placeholder ?? 'template placeholder';
  const columns = spec.columns.map((entry) => resolveColumn(spec, entry, find, placeholder));
  const flag = resolveBookkeeping(spec.softDelete?.flag, 'softDelete.flag', find, types.flagColumn);
  const deletedAt = resolveBookkeeping(
    spec.softDelete?.at,
    'softDelete.at',
    find,
    types.timeColumn,
  );
  const lsn = resolveBookkeeping(spec.metadata?.lsn, 'metadata.lsn', find, types.lsnColumn);
  const syncedAt = resolveBookkeeping(
    spec.metadata?.syncedAt,
    'metadata.syncedAt',
    find,
    types.timeColumn,
  );
  const filter = filterConditions(spec.filter).map((condition): ResolvedCondition<S> => {
    const columnField = condition.field.slice(0, condition.field.lastIndexOf('.'));
    const problems: MappingProblem[] = [];
    const column = find.sourceColumn(problems, condition.column, columnField);
    return { condition, columnField, column, problems };
  });
  const tables = tableProblems(spec, types, source, target);
  const parts = [...key, ...columns, flag, deletedAt, lsn, syncedAt, ...filter];
  return {
    spec,
    types,
    source,
    target,
    tableProblems: tables,
    key,
    columns,
    flag,
    deletedAt,
    lsn,
    syncedAt,
    filter,
    written: writtenColumns(spec),
    problems: [...tables, ...parts.flatMap((part) => part?.problems ?? [])],
  };
}
