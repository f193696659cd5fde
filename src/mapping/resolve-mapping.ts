import type { TargetColumn } from '../values/column-types.js';
import { type MappingProblem, problemAt } from './mapping-problem.js';
import {
  type ColumnRule,
  type FilterCondition,
  filterConditions,
  type MappingSpec,
} from './mapping-spec.js';
import { flagColumn, lsnColumn, type MetaColumn, timeColumn } from './metadata-values.js';
import type { SourceColumn, SourceTable, TargetTable } from './tables.js';

/** A key entry with both of its columns looked up (undefined where the name does not resolve). */
interface ResolvedKey {
  /** The target column as the YAML spells it. */
  readonly target: string;
  readonly from: string;
  readonly field: string;
  readonly source: SourceColumn | undefined;
  readonly column: TargetColumn | undefined;
  readonly problems: readonly MappingProblem[];
}

/** A mapped column: its target column and the source columns its rule reads. */
export interface ResolvedColumn {
  readonly target: string;
  readonly field: string;
  readonly rule: ColumnRule;
  readonly column: TargetColumn | undefined;
  /** The source columns the rule reads that exist, by name; a missing one is a problem. */
  readonly reads: ReadonlyMap<string, SourceColumn>;
  readonly problems: readonly MappingProblem[];
}

/** A soft-delete or metadata column, with how it is written (or why it cannot be). */
export interface ResolvedBookkeeping<T> {
  readonly field: string;
  readonly column: TargetColumn | undefined;
  /** Undefined when the column does not resolve. */
  readonly made: MetaColumn<T> | undefined;
  readonly problems: readonly MappingProblem[];
}

export interface ResolvedCondition {
  readonly condition: FilterCondition;
  /** The condition's column in the YAML (`filter.state`), without the operator. */
  readonly columnField: string;
  readonly column: SourceColumn | undefined;
  readonly problems: readonly MappingProblem[];
}

/**
 * A mapping with every name looked up in the live schemas, once, for both `mappings check` and
 * the compiler. Each part keeps the problems of its own names, so a check can report them in
 * YAML order next to what it finds itself.
 */
export interface ResolvedMapping {
  readonly spec: MappingSpec;
  readonly source: SourceTable | undefined;
  readonly target: TargetTable | undefined;
  /** Missing tables, or a partition where its partitioned table belongs. */
  readonly tableProblems: readonly MappingProblem[];
  readonly key: readonly ResolvedKey[];
  readonly columns: readonly ResolvedColumn[];
  readonly flag: ResolvedBookkeeping<boolean> | undefined;
  readonly deletedAt: ResolvedBookkeeping<Date> | undefined;
  readonly lsn: ResolvedBookkeeping<bigint> | undefined;
  readonly syncedAt: ResolvedBookkeeping<Date> | undefined;
  /** Filter conditions, depth first. */
  readonly filter: readonly ResolvedCondition[];
  /** Lower-cased names of every target column the mapping writes. */
  readonly written: ReadonlySet<string>;
  /** Every problem above, in YAML order. */
  readonly problems: readonly MappingProblem[];
}

interface ResolveOptions {
  /**
   * How a missing `{column}` of a template is named: `mappings check` says template placeholder,
   * compile errors have always said source column.
   */
  readonly placeholder?: string;
}

/** Looks up names for one mapping; each lookup files its problems where the caller says. */
function lookups(spec: MappingSpec, source?: SourceTable, target?: TargetTable) {
  const targetByName = new Map<string, TargetColumn>();
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

type Lookups = ReturnType<typeof lookups>;

function tableProblems(spec: MappingSpec, source?: SourceTable, target?: TargetTable) {
  const problems: MappingProblem[] = [];
  const error = (code: string, field: string, message: string) =>
    problems.push(problemAt(spec, 'error', code, field, message));
  if (!source) {
    error(
      'SOURCE_TABLE_MISSING',
      'source',
      `table ${spec.sourceKey} does not exist in the CRM (or is not a table)`,
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
      `table ${spec.target} does not exist in the MES database (run millrace migrate?)`,
    );
  return problems;
}

function resolveColumn(
  spec: MappingSpec,
  { target, rule }: MappingSpec['columns'][number],
  find: Lookups,
  placeholder: string,
): ResolvedColumn {
  const field = `columns.${target}`;
  const problems: MappingProblem[] = [];
  const column = find.targetColumn(problems, target, field);
  const reads = new Map<string, SourceColumn>();
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

function resolveBookkeeping<T>(
  name: string | undefined,
  field: string,
  find: Lookups,
  write: (column: TargetColumn) => MetaColumn<T>,
): ResolvedBookkeeping<T> | undefined {
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
  options: ResolveOptions = {},
): ResolvedMapping {
  const find = lookups(spec, source, target);
  const key = spec.key.map(({ target: name, from }): ResolvedKey => {
    const field = `key.${name}`;
    const problems: MappingProblem[] = [];
    const fromColumn = find.sourceColumn(problems, from, field);
    const column = find.targetColumn(problems, name, field);
    return { target: name, from, field, source: fromColumn, column, problems };
  });
  const placeholder = options.placeholder ?? 'template placeholder';
  const columns = spec.columns.map((entry) => resolveColumn(spec, entry, find, placeholder));
  const flag = resolveBookkeeping(spec.softDelete?.flag, 'softDelete.flag', find, flagColumn);
  const deletedAt = resolveBookkeeping(spec.softDelete?.at, 'softDelete.at', find, timeColumn);
  const lsn = resolveBookkeeping(spec.metadata?.lsn, 'metadata.lsn', find, lsnColumn);
  const syncedAt = resolveBookkeeping(
    spec.metadata?.syncedAt,
    'metadata.syncedAt',
    find,
    timeColumn,
  );
  const filter = filterConditions(spec.filter).map((condition): ResolvedCondition => {
    const columnField = condition.field.slice(0, condition.field.lastIndexOf('.'));
    const problems: MappingProblem[] = [];
    const column = find.sourceColumn(problems, condition.column, columnField);
    return { condition, columnField, column, problems };
  });
  const tables = tableProblems(spec, source, target);
  const parts = [...key, ...columns, flag, deletedAt, lsn, syncedAt, ...filter];
  return {
    spec,
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
