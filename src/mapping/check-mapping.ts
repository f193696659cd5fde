import { describeError, MappingError } from '../errors/millrace-error.js';
import type { SourceType, TargetColumn } from '../values/column-types.js';
import { checkCompatibility } from '../values/compatibility.js';
import { compileConversion } from '../values/compile-conversion.js';
import { compileMapping } from './compile-mapping.js';
import { compileTransforms } from './compile-transforms.js';
import { describeSourceType } from './describe-type.js';
import { type MappingProblem, problemAt } from './mapping-problem.js';
import {
  type ColumnRule,
  filterConditions,
  type MappingSpec,
  type Transform,
} from './mapping-spec.js';
import { flagColumn, lsnColumn, type MetaColumn, timeColumn } from './metadata-values.js';
import type { Schemas, SourceColumn, SourceTable } from './tables.js';
import { valueOrder } from './value-order.js';

const jsonTypes = new Set(['json', 'jsonb']);
const charTypes = new Set(['char', 'varchar']);
const textTypes = new Set(['tinytext', 'text', 'mediumtext', 'longtext']);

/** Longest text form, in characters, of source types whose text is bounded (for templates). */
const textLengths: Readonly<Record<string, number>> = {
  int2: 6,
  int4: 11,
  int8: 20,
  oid: 10,
  float4: 15,
  float8: 24,
  bool: 1,
  date: 13,
  time: 15,
  timestamp: 32,
  timestamptz: 35,
  uuid: 36,
};

function maxTextLength(type: SourceType): number | undefined {
  if ((type.name === 'varchar' || type.name === 'bpchar') && type.typmod >= 4)
    return type.typmod - 4;
  if (type.name === 'numeric' && type.typmod >= 4) {
    const precision = ((type.typmod - 4) >> 16) & 0xffff;
    const scale = (((type.typmod - 4) & 0x7ff) ^ 1024) - 1024;
    // Sign, point, a leading zero when every digit is fractional, zeros of a negative scale.
    return precision + 3 + Math.max(0, scale - precision) + Math.max(0, -scale);
  }
  return textLengths[type.name];
}

function transformBound(
  bound: number | undefined,
  transforms: readonly Transform[],
): number | undefined {
  let result = bound;
  for (const transform of transforms) {
    // One character can upper-case into three (ΐ → Ϊ́): a safe bound, not a tight one.
    if (transform.kind === 'upper' || transform.kind === 'lower')
      result = result === undefined ? undefined : result * 3;
    if (transform.kind === 'truncate')
      result = result === undefined ? transform.length : Math.min(result, transform.length);
  }
  return result;
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  const left = a.map((column) => column.toLowerCase()).sort();
  const right = b.map((column) => column.toLowerCase()).sort();
  return left.length === right.length && left.every((column, index) => column === right[index]);
}

const list = (columns: readonly string[]) => `(${columns.join(', ')})`;

/** A target column's type as messages show it: MariaDB's JSON is a LONGTEXT, but people wrote JSON. */
const label = (column: TargetColumn) => (column.isJson ? 'json' : column.columnType);

/** PostgreSQL's limit for one value, in bytes: no text is longer. */
const pgFieldLimit = 1_073_741_823;

function identityName(table: SourceTable): string {
  switch (table.replicaIdentity) {
    case 'd':
      return table.primaryKey.length > 0
        ? `REPLICA IDENTITY DEFAULT, the primary key ${list(table.primaryKey)}`
        : 'REPLICA IDENTITY DEFAULT and no primary key';
    case 'n':
      return 'REPLICA IDENTITY NOTHING';
    case 'i':
      return `REPLICA IDENTITY USING INDEX ${list(table.identityColumns)}`;
    case 'f':
      return 'REPLICA IDENTITY FULL';
  }
}

/**
 * Proves one loaded mapping against both live schemas and lists every problem: missing tables
 * and columns, a key that is not unique on the target or not carried by the source's replica
 * identity, unsuitable soft-delete and metadata columns, type (in)compatibility, NULLs into NOT
 * NULL columns, other unique keys a row could collide on, and filters that TOAST can blind.
 * When nothing is an error it also compiles the mapping, so `check` passes exactly what `run`
 * accepts.
 */
export function checkMapping(spec: MappingSpec, schemas: Schemas): MappingProblem[] {
  const problems: MappingProblem[] = [];
  const error = (code: string, field: string | undefined, message: string) =>
    problems.push(problemAt(spec, 'error', code, field, message));
  const warn = (code: string, field: string | undefined, message: string) =>
    problems.push(problemAt(spec, 'warning', code, field, message));
  // A rule written as an object has its own `from` line; a plain copy is the column's line.
  const fromField = (target: string) =>
    spec.lines.has(`columns.${target}.from`) ? `columns.${target}.from` : `columns.${target}`;

  const source = schemas.source.get(spec.sourceKey);
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
  const target = schemas.target.get(spec.target);
  if (!target)
    error(
      'TARGET_TABLE_MISSING',
      'target',
      `table ${spec.target} does not exist in the MES database (run millrace migrate?)`,
    );

  const sourceColumn = (
    name: string,
    field: string,
    what = 'source column',
  ): SourceColumn | undefined => {
    if (!source) return undefined;
    const column = source.columns.get(name);
    if (!column)
      error('SOURCE_COLUMN_MISSING', field, `${what} ${name} does not exist in ${spec.sourceKey}`);
    return column;
  };
  const targetByName = new Map<string, TargetColumn>();
  for (const column of target?.columns.values() ?? [])
    targetByName.set(column.name.toLowerCase(), column);
  const generated = new Set((target?.generatedColumns ?? []).map((name) => name.toLowerCase()));
  const targetColumn = (name: string, field: string): TargetColumn | undefined => {
    if (!target) return undefined;
    const column = targetByName.get(name.toLowerCase());
    if (!column)
      error(
        'TARGET_COLUMN_MISSING',
        field,
        `target column ${name} does not exist in ${spec.target}`,
      );
    else if (generated.has(column.name.toLowerCase())) {
      error(
        'TARGET_COLUMN_GENERATED',
        field,
        `target column ${column.name} of ${spec.target} is generated: it cannot be written`,
      );
    }
    return column;
  };

  // Key: exists on both sides, unique on the target, carried by the source's replica identity.
  const keySources: SourceColumn[] = [];
  for (const { target: name, from } of spec.key) {
    const field = `key.${name}`;
    const fromColumn = sourceColumn(from, field);
    const to = targetColumn(name, field);
    if (fromColumn) keySources.push(fromColumn);
    if (fromColumn && to) checkTypes(fromColumn.type, to, field, fromColumn.notNull);
  }
  const keyTargets = spec.key.map((entry) => entry.target);
  if (target && spec.key.every((entry) => targetByName.has(entry.target.toLowerCase()))) {
    const uniques = [target.primaryKey, ...target.uniqueKeys].filter(
      (columns) => columns.length > 0,
    );
    if (!uniques.some((columns) => sameColumns(columns, keyTargets))) {
      const known = [
        target.primaryKey.length > 0 ? `primary key ${list(target.primaryKey)}` : 'no primary key',
        ...target.uniqueKeys.map((columns) => `unique key ${list(columns)}`),
      ].join(', ');
      error(
        'KEY_NOT_UNIQUE',
        'key',
        `${list(keyTargets)} is not the primary key or a unique key of ${spec.target} (it has ${known}); upserts need the key to be unique`,
      );
    }
  }
  if (source && keySources.length === spec.key.length) {
    const identity = new Set(source.identityColumns);
    const uncovered = spec.key.filter((entry) => !identity.has(entry.from));
    if (uncovered.length > 0) {
      const fix =
        source.replicaIdentity === 'f'
          ? ''
          : `; map the key from ${source.identityColumns.length > 0 ? list(source.identityColumns) : 'the primary key'} or run ALTER TABLE ${spec.sourceKey} REPLICA IDENTITY FULL`;
      error(
        'KEY_NOT_IN_REPLICA_IDENTITY',
        `key.${uncovered[0]!.target}`,
        `source key ${list(uncovered.map((entry) => entry.from))} is not in the replica identity of ${spec.sourceKey} (${identityName(source)}): deletes and key changes would not carry it${fix}`,
      );
    } else {
      const sourceKey = new Set(spec.key.map((entry) => entry.from));
      const knownUnique = [
        source.primaryKey,
        source.replicaIdentity === 'i' ? source.identityColumns : [],
      ].filter((columns) => columns.length > 0);
      if (!knownUnique.some((columns) => columns.every((column) => sourceKey.has(column)))) {
        warn(
          'SOURCE_KEY_NOT_UNIQUE',
          'key',
          `source key ${list([...sourceKey])} is not known to be unique in ${spec.sourceKey} (${source.primaryKey.length > 0 ? `primary key ${list(source.primaryKey)}` : 'no primary key'}): two source rows could write one target row`,
        );
      }
    }
  }

  // Columns and their rules.
  const written = new Set(keyTargets.map((name) => name.toLowerCase()));
  for (const { target: name, rule } of spec.columns) {
    const field = `columns.${name}`;
    written.add(name.toLowerCase());
    const to = targetColumn(name, field);
    checkRule(rule, name, field, to);
  }

  function checkRule(
    rule: ColumnRule,
    name: string,
    field: string,
    to: TargetColumn | undefined,
  ): void {
    switch (rule.kind) {
      case 'copy': {
        const from = sourceColumn(rule.from, fromField(name));
        if (!from || !to) return;
        const mayBeNull = rule.default === undefined ? !from.notNull : rule.default === null;
        checkTypes(from.type, to, field, !mayBeNull);
        if (rule.default !== undefined && rule.default !== null) {
          tryValues(from.type, to, `${field}.default`, [rule.default], 'the default');
        }
        return;
      }
      case 'const':
        if (to) {
          if (rule.value === null) checkNull(to, `${field}.const`, true);
          tryValues(
            'text',
            to,
            `${field}.const`,
            rule.value === null ? [] : [rule.value],
            'the constant',
          );
        }
        return;
      case 'template': {
        const columns = rule.parts.flatMap((part) => (part.kind === 'column' ? [part.column] : []));
        const found = columns.map((column) =>
          sourceColumn(column, `${field}.template`, 'template placeholder'),
        );
        if (!to || found.some((column) => column === undefined)) return;
        const nullable = found.some((column) => !column!.notNull);
        const bound = rule.parts.reduce<number | undefined>((sum, part) => {
          if (sum === undefined) return undefined;
          if (part.kind === 'text') return sum + [...part.text].length;
          const length = maxTextLength(source!.columns.get(part.column)!.type);
          return length === undefined ? undefined : sum + length;
        }, 0);
        const withDefault =
          rule.default === undefined || bound === undefined
            ? bound
            : Math.max(bound, rule.default?.length ?? 0);
        checkDerived(
          to,
          field,
          transformBound(withDefault, rule.transform),
          rule.default === undefined ? nullable : rule.default === null,
        );
        return;
      }
      case 'derive': {
        const from = sourceColumn(rule.from, fromField(name));
        if (!from) return;
        if (rule.path && !jsonTypes.has(from.type.name)) {
          error(
            'PATH_NOT_JSON',
            `${field}.path`,
            `path needs a json or jsonb column; ${rule.from} is ${describeSourceType(from.type)}`,
          );
          return;
        }
        if (rule.map && !rule.path) {
          const order = valueOrder(from.type);
          for (const key of rule.map.keys()) {
            if (order.key(key) === undefined) {
              warn(
                'MAP_KEY_NEVER_MATCHES',
                `${field}.map`,
                `key '${key}' can never match: ${rule.from} is ${describeSourceType(from.type)}`,
              );
            }
          }
        }
        if (!to) return;
        const inputMayBeNull = !from.notNull || rule.path !== undefined;
        const hasDefault = rule.default !== undefined;
        if (rule.map) {
          // A map has a known set of results: convert each of them now rather than warn about types.
          const transform = compileTransforms(rule.transform) ?? ((text: string) => text);
          const results = [...rule.map.values(), ...(hasDefault ? [rule.default!] : [])];
          const mayBeNull = results.includes(null) || (!hasDefault && inputMayBeNull);
          checkNull(to, field, mayBeNull);
          const texts = [
            ...new Set(results.filter((value): value is string => value !== null).map(transform)),
          ];
          tryValues('text', to, `${field}.map`, texts, 'mapped value');
          return;
        }
        const bound = rule.path ? undefined : maxTextLength(from.type);
        const withDefault =
          hasDefault && bound !== undefined ? Math.max(bound, rule.default?.length ?? 0) : bound;
        checkDerived(
          to,
          field,
          transformBound(withDefault, rule.transform),
          hasDefault ? rule.default === null : inputMayBeNull,
        );
      }
    }
  }

  /** A plain copy: the values module's verdict for the pair, and NULLs into NOT NULL. */
  function checkTypes(type: SourceType, to: TargetColumn, field: string, notNull: boolean): void {
    const verdict = checkCompatibility(type, to);
    const pair = `${describeSourceType(type)} into ${label(to)}`;
    if (verdict.level === 'error')
      error('TYPE_INCOMPATIBLE', field, `${pair}: ${verdict.reason ?? 'cannot be converted'}`);
    else if (verdict.level === 'warning')
      warn('TYPE_WARNING', field, `${pair}: ${verdict.reason ?? 'some values may be rejected'}`);
    checkNull(to, field, !notNull);
  }

  /** Text computed per row (template, path, transform): length and parse risks. */
  function checkDerived(
    to: TargetColumn,
    field: string,
    bound: number | undefined,
    mayBeNull: boolean,
  ): void {
    checkNull(to, field, mayBeNull);
    const verdict = checkCompatibility('text', to);
    if (verdict.level === 'error') {
      error(
        'TYPE_INCOMPATIBLE',
        field,
        `derived text into ${label(to)}: ${verdict.reason ?? 'cannot be converted'}`,
      );
      return;
    }
    if (verdict.level === 'warning')
      warn(
        'TYPE_WARNING',
        field,
        `derived text into ${label(to)}: ${verdict.reason ?? 'some values may be rejected'}`,
      );
    if (to.isJson) return;
    if (
      charTypes.has(to.dataType) &&
      to.maxLength !== null &&
      (bound === undefined || bound > to.maxLength)
    ) {
      warn(
        'VALUE_MAY_NOT_FIT',
        field,
        `values ${bound === undefined ? 'of unbounded length' : `of up to ${bound} characters`} go into ${to.columnType}: longer ones are rejected as bad rows (add transform: [{ truncate: ${to.maxLength} }] to cut them)`,
      );
    } else if (
      textTypes.has(to.dataType) &&
      to.maxLength !== null &&
      (bound === undefined ? pgFieldLimit : bound * 4) > to.maxLength
    ) {
      warn(
        'VALUE_MAY_NOT_FIT',
        field,
        `values ${bound === undefined ? 'of unbounded length' : `of up to ${bound} characters`} go into ${to.columnType} (${to.maxLength} bytes): longer ones are rejected as bad rows`,
      );
    }
  }

  function checkNull(to: TargetColumn, field: string, mayBeNull: boolean): void {
    if (mayBeNull && !to.nullable) {
      warn(
        'NULL_INTO_NOT_NULL',
        field,
        `the value can be NULL but ${spec.target}.${to.name} is NOT NULL: such rows are rejected as bad rows`,
      );
    }
  }

  /** Converts known values now: a constant or mapped value that cannot fit is an error today, not a bad row later. */
  function tryValues(
    type: SourceType | 'text',
    to: TargetColumn,
    field: string,
    values: readonly string[],
    what: string,
  ): void {
    let conversion: ((text: string | null) => unknown) | undefined;
    try {
      conversion = compileConversion(type, to, { mapping: spec.name, column: to.name });
    } catch (failure) {
      error(
        'TYPE_INCOMPATIBLE',
        field,
        `${type === 'text' ? 'text' : describeSourceType(type)} into ${label(to)}: ${describeError(failure)}`,
      );
      return;
    }
    // The values module prefixes `mapping.column: `; the problem line names both already.
    const prefix = `${spec.name}.${to.name}: `;
    for (const value of values) {
      try {
        conversion(value);
      } catch (failure) {
        const reason = describeError(failure);
        error(
          'VALUE_NOT_CONVERTIBLE',
          field,
          `${what} '${value}' does not fit ${label(to)}: ${reason.startsWith(prefix) ? reason.slice(prefix.length) : reason}`,
        );
      }
    }
  }

  // Soft delete and metadata columns.
  const meta = <T>(
    name: string | undefined,
    field: string,
    check: (column: TargetColumn) => MetaColumn<T>,
    code: string,
  ) => {
    if (name === undefined) return;
    written.add(name.toLowerCase());
    const column = targetColumn(name, field);
    if (!column) return;
    const made = check(column);
    if (!made.ok) error(code, field, made.reason);
  };
  meta(spec.softDelete?.flag, 'softDelete.flag', flagColumn, 'SOFT_DELETE_TYPE');
  meta(spec.softDelete?.at, 'softDelete.at', timeColumn, 'SOFT_DELETE_TYPE');
  meta(spec.metadata?.lsn, 'metadata.lsn', lsnColumn, 'METADATA_TYPE');
  meta(spec.metadata?.syncedAt, 'metadata.syncedAt', timeColumn, 'METADATA_TYPE');

  // Filter: columns exist, literals are values of the column's type, TOAST can hide the column.
  const toastWarned = new Set<string>();
  for (const condition of filterConditions(spec.filter)) {
    const columnField = condition.field.slice(0, condition.field.lastIndexOf('.'));
    const column = sourceColumn(condition.column, columnField);
    if (!column || !source) continue;
    if (condition.op !== 'isNull') {
      const order = valueOrder(column.type);
      const literals =
        typeof condition.value === 'string'
          ? [condition.value]
          : (condition.value as readonly string[]);
      for (const literal of literals) {
        if (order.key(literal) === undefined) {
          error(
            'FILTER_LITERAL',
            condition.field,
            `'${literal}' is not ${order.expects} (${condition.column} is ${describeSourceType(column.type)})`,
          );
        }
      }
    }
    const toastable =
      column.toastable ??
      (column.type.category === 'A' ||
        ['text', 'varchar', 'bpchar', 'json', 'jsonb', 'bytea', 'numeric'].includes(
          column.type.name,
        ));
    if (toastable && source.replicaIdentity !== 'f' && !toastWarned.has(condition.column)) {
      toastWarned.add(condition.column);
      warn(
        'FILTER_TOAST',
        columnField,
        `the filter reads ${condition.column} (${describeSourceType(column.type)}), which PostgreSQL may store out of line (TOAST); an UPDATE that does not change it does not carry it, so the filter cannot be decided for that row; run ALTER TABLE ${spec.sourceKey} REPLICA IDENTITY FULL`,
      );
    }
  }

  if (target) {
    // Inserts must set every NOT NULL column without a default.
    const missing = (target.requiredColumns ?? []).filter(
      (name) => !written.has(name.toLowerCase()),
    );
    if (missing.length > 0) {
      error(
        'NOT_NULL_UNMAPPED',
        'columns',
        `${spec.target} ${missing.length === 1 ? 'column' : 'columns'} ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} NOT NULL without a default and the mapping does not write ${missing.length === 1 ? 'it' : 'them'}: every insert would fail`,
      );
    }
    // ON DUPLICATE KEY UPDATE fires on any unique key, not only the mapped one.
    for (const columns of [target.primaryKey, ...target.uniqueKeys]) {
      if (columns.length === 0 || sameColumns(columns, keyTargets)) continue;
      if (columns.every((column) => written.has(column.toLowerCase()))) {
        warn(
          'OTHER_UNIQUE_KEY',
          'key',
          `${spec.target} also has the unique key ${list(columns)}, which the mapping writes: a source row with the same ${list(columns)} as another row would overwrite that row (ON DUPLICATE KEY UPDATE fires on any unique key)`,
        );
      }
    }
  }

  if (source && target && !problems.some((problem) => problem.level === 'error')) {
    try {
      compileMapping(spec, source, target);
    } catch (failure) {
      if (!(failure instanceof MappingError)) throw failure;
      const field = failure.context.path as string | undefined;
      error(
        'MAPPING_COMPILE',
        field,
        (failure.context.detail as string | undefined) ?? failure.message,
      );
    }
  }
  return problems;
}
