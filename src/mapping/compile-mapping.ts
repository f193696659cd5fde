import { describeError, MappingError, ValueError } from '../errors/millrace-error.js';
import type { SourceType, TargetColumn, TargetValue } from '../values/column-types.js';
import { type Conversion, compileConversion } from '../values/compile-conversion.js';
import { compileFilter } from './compile-filter.js';
import { compileTransforms } from './compile-transforms.js';
import {
  type ChangeMeta,
  type CompiledMapping,
  type SourceRow,
  type TargetRow,
  UNCHANGED,
} from './compiled-mapping.js';
import { describeSourceType } from './describe-type.js';
import { JsonTextError, jsonPathText } from './json-path.js';
import { formatProblem, problemAt } from './mapping-problem.js';
import type { ColumnRule, MappingSpec } from './mapping-spec.js';
import { flagColumn, lsnColumn, type MetaColumn, timeColumn } from './metadata-values.js';
import type { SourceColumn, SourceTable, TargetTable } from './tables.js';
import { valueOrder } from './value-order.js';

/** One target column computed from a row. */
interface ColumnOp {
  readonly target: string;
  /** Source columns it reads; when one is absent (UNCHANGED), the column is left out of the write. */
  readonly deps: readonly string[];
  readonly compute: (row: SourceRow) => TargetValue;
}

interface KeyOp {
  readonly target: string;
  readonly from: string;
  readonly convert: Conversion;
}

const jsonTypes = new Set(['json', 'jsonb']);

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** Whether any of `deps` is UNCHANGED or missing from the row. */
function absent(row: SourceRow, deps: readonly string[]): boolean {
  for (const dep of deps) {
    const value = row[dep];
    if (value === UNCHANGED || value === undefined) return true;
  }
  return false;
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
): CompiledMapping {
  const fail = (field: string | undefined, message: string, cause?: unknown): never => {
    const problem = problemAt(spec, 'error', 'MAPPING_COMPILE', field, message);
    throw new MappingError('MAPPING_COMPILE', formatProblem(problem), {
      ...(cause === undefined ? {} : { cause }),
      context: { file: spec.file, mapping: spec.name, path: field, detail: message },
    });
  };
  const targetByName = new Map<string, TargetColumn>();
  for (const column of targetTable.columns.values())
    targetByName.set(column.name.toLowerCase(), column);

  const sourceColumn = (name: string, field: string): SourceColumn =>
    sourceTable.columns.get(name) ??
    fail(field, `source column ${name} does not exist in ${spec.sourceKey}`);
  const targetColumn = (name: string, field: string): TargetColumn =>
    targetByName.get(name.toLowerCase()) ??
    fail(field, `target column ${name} does not exist in ${spec.target}`);
  const convert = (
    source: SourceType | 'text',
    target: TargetColumn,
    field: string,
  ): Conversion => {
    try {
      return compileConversion(source, target, { mapping: spec.name, column: target.name });
    } catch (error) {
      const from = source === 'text' ? 'text' : describeSourceType(source);
      return fail(
        field,
        `cannot convert ${from} to ${target.columnType}: ${describeError(error)}`,
        error,
      );
    }
  };
  const meta = <T>(made: MetaColumn<T>, field: string) =>
    made.ok ? made.write : fail(field, made.reason);

  const keyOps: KeyOp[] = spec.key.map(({ target, from }) => {
    const field = `key.${target}`;
    const column = targetColumn(target, field);
    return {
      target: column.name,
      from,
      convert: convert(sourceColumn(from, field).type, column, field),
    };
  });

  const columnOps: ColumnOp[] = spec.columns.map(({ target, rule }) => {
    const field = `columns.${target}`;
    const column = targetColumn(target, field);
    return compileColumn(rule, column, field);
  });

  function compileColumn(rule: ColumnRule, column: TargetColumn, field: string): ColumnOp {
    const site = { mapping: spec.name, column: column.name };
    const unmapped = (value: string): never => {
      throw new ValueError(
        'VALUE_UNMAPPED',
        `${spec.name}: ${column.name}: value '${shorten(value)}' is not in the map and there is no default`,
        { context: { ...site, value: shorten(value) } },
      );
    };
    switch (rule.kind) {
      case 'const': {
        const conversion = convert('text', column, field);
        let value: TargetValue;
        try {
          value = conversion(rule.value);
        } catch (error) {
          return fail(
            `${field}.const`,
            `the constant does not fit ${column.columnType}: ${describeError(error)}`,
            error,
          );
        }
        return { target: column.name, deps: [], compute: () => value };
      }
      case 'copy': {
        const { from } = rule;
        const conversion = convert(sourceColumn(from, `${field}.from`).type, column, field);
        if (rule.default === undefined)
          return {
            target: column.name,
            deps: [from],
            compute: (row) => conversion(row[from] as string | null),
          };
        const fallback = rule.default;
        return {
          target: column.name,
          deps: [from],
          compute: (row) => {
            const value = row[from] as string | null;
            return conversion(value === null ? fallback : value);
          },
        };
      }
      case 'template': {
        const parts = rule.parts.map((part) => {
          if (part.kind === 'column') sourceColumn(part.column, `${field}.template`);
          return part;
        });
        const deps = [
          ...new Set(parts.flatMap((part) => (part.kind === 'column' ? [part.column] : []))),
        ];
        const transform = compileTransforms(rule.transform);
        const conversion = convert('text', column, field);
        const fallback = rule.default ?? null;
        return {
          target: column.name,
          deps,
          compute: (row) => {
            let text = '';
            for (const part of parts) {
              if (part.kind === 'text') text += part.text;
              else {
                const value = row[part.column] as string | null;
                if (value === null)
                  return conversion(
                    fallback !== null && transform ? transform(fallback) : fallback,
                  );
                text += value;
              }
            }
            return conversion(transform ? transform(text) : text);
          },
        };
      }
      case 'derive': {
        const { from, path } = rule;
        const source = sourceColumn(from, `${field}.from`);
        if (path !== undefined && !jsonTypes.has(source.type.name)) {
          fail(
            `${field}.path`,
            `path needs a json or jsonb column; ${from} is ${describeSourceType(source.type)}`,
          );
        }
        const transform = compileTransforms(rule.transform);
        const conversion = convert('text', column, field);
        const hasDefault = rule.default !== undefined;
        const fallback = rule.default ?? null;
        // Map keys compare like filter values: 1 matches a numeric '1.00', true a boolean 't'.
        const order = path === undefined ? valueOrder(source.type) : undefined;
        const keyOf = order ? (text: string) => order.key(text) ?? text : (text: string) => text;
        const map =
          rule.map && new Map([...rule.map].map(([key, value]) => [keyOf(key), value] as const));
        const readPath = path
          ? (json: string): string | null => {
              try {
                return jsonPathText(json, path) ?? null;
              } catch (error) {
                if (!(error instanceof JsonTextError)) throw error;
                throw new ValueError(
                  'VALUE_INVALID_JSON',
                  `${spec.name}: ${column.name}: ${from} is not valid JSON (${error.message})`,
                  {
                    context: { ...site, value: shorten(json) },
                  },
                );
              }
            }
          : undefined;
        return {
          target: column.name,
          deps: [from],
          compute: (row) => {
            let text = row[from] as string | null;
            if (text !== null && readPath) text = readPath(text);
            if (map) {
              if (text !== null) {
                const mapped = map.get(keyOf(text));
                if (mapped !== undefined) text = mapped;
                else if (hasDefault) text = fallback;
                else unmapped(text);
              } else if (hasDefault) text = fallback;
            } else if (text === null && hasDefault) text = fallback;
            return conversion(text !== null && transform ? transform(text) : text);
          },
        };
      }
    }
  }

  const context = {
    orderOf: (column: string) => valueOrder(sourceColumn(column, 'filter').type),
    invalid: (
      condition: { field: string; column: string },
      literal: string,
      expects: string,
    ): never => {
      const type = describeSourceType(sourceColumn(condition.column, condition.field).type);
      return fail(
        condition.field,
        `'${literal}' is not ${expects} (${condition.column} is ${type})`,
      );
    },
  };
  const filterColumns: string[] = [];
  const collect = (filter: MappingSpec['filter']) => {
    if (!filter) return;
    if (filter.kind === 'condition') {
      sourceColumn(filter.column, filter.field);
      filterColumns.push(filter.column);
    } else filter.items.forEach(collect);
  };
  collect(spec.filter);
  const matches = compileFilter(spec.filter, context);

  const softDelete = spec.softDelete;
  const flag = softDelete && targetColumn(softDelete.flag, 'softDelete.flag');
  const writeFlag = flag && meta(flagColumn(flag), 'softDelete.flag');
  const deletedAt =
    softDelete?.at === undefined ? undefined : targetColumn(softDelete.at, 'softDelete.at');
  const writeDeletedAt = deletedAt && meta(timeColumn(deletedAt), 'softDelete.at');
  const lsnTarget =
    spec.metadata?.lsn === undefined ? undefined : targetColumn(spec.metadata.lsn, 'metadata.lsn');
  const writeLsn = lsnTarget && meta(lsnColumn(lsnTarget), 'metadata.lsn');
  const syncedTarget =
    spec.metadata?.syncedAt === undefined
      ? undefined
      : targetColumn(spec.metadata.syncedAt, 'metadata.syncedAt');
  const writeSynced = syncedTarget && meta(timeColumn(syncedTarget), 'metadata.syncedAt');

  // Metadata values change per transaction, not per row: computed once per ChangeMeta object.
  let lastMeta: ChangeMeta | undefined;
  let metaValues: [string, TargetValue][] = [];
  let lastDeleteMeta: ChangeMeta | undefined;
  let deleteRow: TargetRow = {};
  const metaColumns = (change: ChangeMeta): [string, TargetValue][] => {
    if (change === lastMeta) return metaValues;
    const values: [string, TargetValue][] = [];
    if (lsnTarget && writeLsn) values.push([lsnTarget.name, writeLsn(change.lsn)]);
    if (syncedTarget && writeSynced) values.push([syncedTarget.name, writeSynced(change.syncedAt)]);
    lastMeta = change;
    metaValues = values;
    return values;
  };
  const liveColumns: [string, TargetValue][] = [];
  if (flag && writeFlag) liveColumns.push([flag.name, writeFlag(false)]);
  if (deletedAt) liveColumns.push([deletedAt.name, null]);

  const keyValue = (op: KeyOp, row: SourceRow): TargetValue => {
    const value = row[op.from];
    if (value === UNCHANGED || value === undefined) {
      throw new ValueError(
        'VALUE_KEY_MISSING',
        `${spec.name}: ${op.target}: key column ${op.from} is missing from the row`,
        {
          context: { mapping: spec.name, column: op.target },
        },
      );
    }
    return op.convert(value);
  };

  const sourceColumns = [
    ...new Set([
      ...keyOps.map((op) => op.from),
      ...columnOps.flatMap((op) => op.deps),
      ...filterColumns,
    ]),
  ];
  const targetColumns = [
    ...keyOps.map((op) => op.target),
    ...columnOps.map((op) => op.target),
    ...liveColumns.map(([name]) => name),
    ...(lsnTarget ? [lsnTarget.name] : []),
    ...(syncedTarget ? [syncedTarget.name] : []),
  ];

  // Private and never handed out; not frozen because spreading a frozen object is the slow path.
  const rowTemplate: Record<string, TargetValue> = Object.fromEntries(
    targetColumns.map((name) => [name, null] as const),
  );

  const compiled: CompiledMapping = {
    name: spec.name,
    file: spec.file,
    source: Object.freeze({ schema: spec.source.schema, table: spec.source.table }),
    sourceKey: spec.sourceKey,
    target: spec.target,
    keyColumns: Object.freeze(keyOps.map((op) => op.target)),
    sourceKeyColumns: Object.freeze(keyOps.map((op) => op.from)),
    sourceColumns: Object.freeze(sourceColumns),
    targetColumns: Object.freeze(targetColumns),
    onDelete: spec.onDelete,
    ...(flag
      ? {
          softDelete: Object.freeze({
            flag: flag.name,
            ...(deletedAt ? { at: deletedAt.name } : {}),
          }),
        }
      : {}),
    ...(spec.metadata
      ? {
          metadata: Object.freeze({
            ...(lsnTarget ? { lsn: lsnTarget.name } : {}),
            ...(syncedTarget ? { syncedAt: syncedTarget.name } : {}),
          }),
        }
      : {}),
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
    softDeleteRow(change) {
      if (!flag || !writeFlag) {
        throw new MappingError(
          'MAPPING_NOT_SOFT',
          `${spec.file}: ${spec.name}: softDeleteRow needs onDelete: soft`,
        );
      }
      if (change === lastDeleteMeta) return deleteRow;
      const out: Record<string, TargetValue> = { [flag.name]: writeFlag(true) };
      if (deletedAt && writeDeletedAt) out[deletedAt.name] = writeDeletedAt(change.syncedAt);
      for (const [name, value] of metaColumns(change)) out[name] = value;
      lastDeleteMeta = change;
      deleteRow = Object.freeze(out);
      return deleteRow;
    },
  };
  return Object.freeze(compiled);
}
