import { describeError, MappingError, ValueError } from '../errors/millrace-error.js';
import type { ChangeMeta, CompiledMapping, SourceRow } from '../mapping/compiled-mapping.js';
import type { SourceTable, TargetTable } from '../mapping/tables.js';
import type { Canonicalizer } from '../values/canonical.js';
import type { TargetColumn, TargetValue } from '../values/column-types.js';
import { textKeyIdentity } from '../values/key-text.js';
import { describeTarget } from '../values/target-spec.js';
import type { CellDifference, KeyRecord } from './audit-report.js';
import { compileComparable } from './comparable.js';

/** What both kinds of source image carry: the key in each form, and the row it came from. */
interface KeyedImage {
  /** The canonical key as one string: equal strings ⇔ the same target row. */
  readonly key: string;
  readonly keyParts: readonly string[];
  /** Key values as the writer binds them, for lookups on the target. */
  readonly keyValues: readonly TargetValue[];
  /** The source row (text form), for repair and for re-reading it. */
  readonly row: SourceRow;
}

/**
 * What the source says a target row must be, in the audit's comparison form. `values` are the
 * canonical forms (compileComparable) of the compared columns, in RowModel.compareColumns order.
 */
export interface ExpectedRow extends KeyedImage {
  readonly kind: 'expected';
  readonly values: readonly (string | null)[];
  /** Set when a value cannot be converted: the stream would dead-letter this row. */
  readonly error?: { readonly column: string; readonly message: string };
}

/** A source row that exists but is outside the filter: the target must not hold it. */
export interface FilteredRow extends KeyedImage {
  readonly kind: 'filtered';
}

export type SourceImage = ExpectedRow | FilteredRow;

/** A target row as read back, in comparison form. */
export interface ActualRow {
  readonly key: string;
  readonly keyParts: readonly string[];
  /** Key values as mysql2 returned them: usable as parameters for lookups and deletes. */
  readonly keyValues: readonly unknown[];
  readonly values: readonly (string | null)[];
  /** Soft-deleted (onDelete: soft): counts as absent. */
  readonly deleted: boolean;
}

/**
 * One mapping seen by the audit: which columns are compared and how each side's row turns into
 * comparable strings. Built once per mapping; the per-row functions allocate little, since a
 * 10M-row audit calls them 10M times.
 */
export interface RowModel {
  readonly mapping: CompiledMapping;
  readonly sourceTable: SourceTable;
  readonly targetTable: TargetTable;
  /** Source columns read: everything the mapping reads, key first. */
  readonly sourceColumns: readonly string[];
  /** Target key columns (the mapping's key, in key order). */
  readonly keyColumns: CompiledMapping['keyColumns'];
  /** Target columns compared: the mapping's columns, without key, metadata and soft-delete ones. */
  readonly compareColumns: readonly string[];
  readonly keyTargetColumns: readonly TargetColumn[];
  readonly compareTargetColumns: readonly TargetColumn[];
  /** The soft-delete flag column, read to tell live rows from deleted ones. */
  readonly flagColumn: string | undefined;
  /** Columns selected from the target, in the order `actual` expects: key, compared, flag. */
  readonly targetSelect: readonly string[];
  /** Classifies a full source row (every column present). Undefined: the key itself cannot be converted. */
  image(row: SourceRow): SourceImage | undefined;
  /** A target row from a `targetSelect` query in array form. */
  actual(values: readonly unknown[]): ActualRow;
  /** Columns selected when only keys and liveness matter: key, flag. */
  readonly targetKeySelect: readonly string[];
  /** A target row from a `targetKeySelect` query: key and liveness, no compared values. */
  actualKey(values: readonly unknown[]): ActualRow;
  /** The differing columns of two rows with the same key; undefined when they are equal. */
  diff(expected: ExpectedRow, actual: ActualRow): Record<string, CellDifference> | undefined;
  /** The key as the report prints it. */
  keyRecord(parts: readonly string[]): KeyRecord;
  /** A source row from a query in array form over `sourceColumns`. */
  sourceRow(values: readonly unknown[]): SourceRow;
  /**
   * Key values as statement parameters: integers that arrive as strings (BIGINT, as the writer
   * binds them and as mysql2 reads them) become BigInt, so MySQL compares them as integers and
   * not as doubles, which cannot tell 2^53 from 2^53 + 1.
   */
  bindKey(values: readonly unknown[]): unknown[];
}

/** Metadata columns are ignored, so any fixed meta will do; one object keeps project's cache warm. */
const auditMeta: ChangeMeta = Object.freeze({ lsn: 0n, syncedAt: new Date(0) });

/** The comparison forms of a target row's columns: key, compared, and the soft-delete flag. */
interface Canonicalizers {
  readonly key: readonly Canonicalizer[];
  readonly compare: readonly Canonicalizer[];
  readonly flag: Canonicalizer | undefined;
}

export function buildRowModel(
  mapping: CompiledMapping,
  sourceTable: SourceTable,
  targetTable: TargetTable,
): RowModel {
  const columnOf = targetColumnLookup(mapping, targetTable);
  const keyColumns = mapping.keyColumns;
  const compareColumns = comparedColumns(mapping);
  const keyTargetColumns = keyColumns.map(columnOf);
  const compareTargetColumns = compareColumns.map(columnOf);
  const flagColumn = mapping.softDelete?.flag;
  const canon: Canonicalizers = {
    key: keyTargetColumns.map(compileComparable),
    compare: compareTargetColumns.map(compileComparable),
    flag: flagColumn === undefined ? undefined : compileComparable(columnOf(flagColumn)),
  };
  const sourceColumns = [...new Set([...mapping.sourceKeyColumns, ...mapping.sourceColumns])];
  const flagSelect = flagColumn === undefined ? [] : [flagColumn];
  return Object.freeze({
    mapping,
    sourceTable,
    targetTable,
    sourceColumns: Object.freeze(sourceColumns),
    keyColumns,
    compareColumns: Object.freeze(compareColumns),
    keyTargetColumns: Object.freeze(keyTargetColumns),
    compareTargetColumns: Object.freeze(compareTargetColumns),
    flagColumn,
    targetSelect: Object.freeze([...keyColumns, ...compareColumns, ...flagSelect]),
    targetKeySelect: Object.freeze([...keyColumns, ...flagSelect]),
    image: compileImage(mapping, compareColumns, canon),
    ...compileActual(canon),
    diff: compileDiff(compareColumns),
    keyRecord: (parts: readonly string[]): KeyRecord => {
      const record: Record<string, string> = {};
      for (let i = 0; i < keyColumns.length; i++) record[keyColumns[i]!] = parts[i]!;
      return record;
    },
    sourceRow: compileSourceRow(sourceColumns),
    bindKey: compileBindKey(keyTargetColumns),
  });
}

/** The target column of a mapping's column name (exact, else case-insensitive as MySQL is). */
function targetColumnLookup(
  mapping: CompiledMapping,
  targetTable: TargetTable,
): (name: string) => TargetColumn {
  return (name) => {
    const column =
      targetTable.columns.get(name) ??
      [...targetTable.columns.values()].find(
        (candidate) => candidate.name.toLowerCase() === name.toLowerCase(),
      );
    if (column === undefined) {
      throw new MappingError(
        'MAPPING_COMPILE',
        `${mapping.file}: ${mapping.name}: target column ${name} does not exist in ${mapping.target}`,
        { context: { file: mapping.file, mapping: mapping.name } },
      );
    }
    return column;
  };
}

/** The mapping's target columns without key, metadata and soft-delete ones. */
export function comparedColumns(mapping: CompiledMapping): string[] {
  const ignored = new Set(
    [
      mapping.metadata?.lsn,
      mapping.metadata?.syncedAt,
      mapping.softDelete?.flag,
      mapping.softDelete?.at,
      ...mapping.keyColumns,
    ].filter((name): name is string => name !== undefined),
  );
  return mapping.targetColumns.filter((name) => !ignored.has(name));
}

/** The canonical key parts of the first key-count values. */
function compileCanonicalKey(canon: Canonicalizers): (values: readonly unknown[]) => string[] {
  const keyCanon = canon.key;
  const keyCount = keyCanon.length;
  return (values) => {
    const parts: string[] = new Array(keyCount);
    for (let i = 0; i < keyCount; i++) parts[i] = keyCanon[i]!(values[i]) ?? '';
    return parts;
  };
}

function compileImage(
  mapping: CompiledMapping,
  compareColumns: readonly string[],
  canon: Canonicalizers,
): RowModel['image'] {
  const canonicalKey = compileCanonicalKey(canon);
  const keyColumns = mapping.keyColumns;
  const keyCount = keyColumns.length;
  const compareCount = compareColumns.length;
  const keyOf = (row: SourceRow) => {
    const keyValues = mapping.key(row);
    const keyParts = canonicalKey(keyValues);
    return { keyValues, keyParts, key: textKeyIdentity(keyParts) };
  };
  return (row) => {
    if (mapping.matches(row) === false) return withConvertibleKey(() => filtered(row, keyOf(row)));
    try {
      // The projection converts the key too: taken from it rather than converted twice.
      const projected = mapping.project(row, auditMeta);
      const keyValues: TargetValue[] = new Array(keyCount);
      for (let i = 0; i < keyCount; i++) keyValues[i] = projected[keyColumns[i]!]!;
      const keyParts = canonicalKey(keyValues);
      const values: (string | null)[] = new Array(compareCount);
      for (let i = 0; i < compareCount; i++) {
        values[i] = canon.compare[i]!(projected[compareColumns[i]!]);
      }
      return { kind: 'expected', key: textKeyIdentity(keyParts), keyParts, keyValues, row, values };
    } catch (error) {
      if (!(error instanceof ValueError)) throw error;
      // A key the target cannot hold: no target row can be this row's.
      return withConvertibleKey(() => unconvertible(row, keyOf(row), error));
    }
  };
}

type ImageKey = Pick<KeyedImage, 'key' | 'keyParts' | 'keyValues'>;

function filtered(row: SourceRow, key: ImageKey): FilteredRow {
  return { kind: 'filtered', row, ...key };
}

/** A row the stream would dead-letter: `error` names the column that does not convert. */
function unconvertible(row: SourceRow, key: ImageKey, error: ValueError): ExpectedRow {
  const column = typeof error.context.column === 'string' ? error.context.column : '*';
  return {
    kind: 'expected',
    row,
    ...key,
    values: [],
    error: { column, message: describeError(error) },
  };
}

/** Undefined when the row's key itself cannot be converted: no target row can be its. */
function withConvertibleKey(build: () => SourceImage): SourceImage | undefined {
  try {
    return build();
  } catch (error) {
    if (error instanceof ValueError) return undefined;
    throw error;
  }
}

function compileActual(canon: Canonicalizers): Pick<RowModel, 'actual' | 'actualKey'> {
  const canonicalKey = compileCanonicalKey(canon);
  const keyCount = canon.key.length;
  const compareCount = canon.compare.length;
  const { flag } = canon;
  const isDeleted = (value: unknown): boolean => {
    if (flag === undefined) return false;
    const form = flag(value);
    return form !== null && form !== '0';
  };
  const noValues: readonly (string | null)[] = Object.freeze([]);
  const build = (row: readonly unknown[], values: readonly (string | null)[], flagAt: number) => {
    const keyParts = canonicalKey(row);
    return {
      key: textKeyIdentity(keyParts),
      keyParts,
      keyValues: row.slice(0, keyCount),
      values,
      deleted: isDeleted(row[flagAt]),
    };
  };
  return {
    actual: (row) => {
      const values: (string | null)[] = new Array(compareCount);
      for (let i = 0; i < compareCount; i++) values[i] = canon.compare[i]!(row[keyCount + i]);
      return build(row, values, keyCount + compareCount);
    },
    actualKey: (row) => build(row, noValues, keyCount),
  };
}

function compileDiff(compareColumns: readonly string[]): RowModel['diff'] {
  const compareCount = compareColumns.length;
  return (expected, found) => {
    if (expected.error !== undefined) {
      const index = compareColumns.indexOf(expected.error.column);
      return {
        [expected.error.column]: {
          source: `(cannot convert: ${expected.error.message})`,
          target: index === -1 ? null : (found.values[index] ?? null),
        },
      };
    }
    let columns: Record<string, CellDifference> | undefined;
    for (let i = 0; i < compareCount; i++) {
      const source = expected.values[i]!;
      const target = found.values[i]!;
      if (source !== target) {
        columns ??= {};
        columns[compareColumns[i]!] = { source, target };
      }
    }
    return columns;
  };
}

function compileSourceRow(sourceColumns: readonly string[]): RowModel['sourceRow'] {
  const count = sourceColumns.length;
  return (values) => {
    const row: Record<string, string | null> = {};
    for (let i = 0; i < count; i++) row[sourceColumns[i]!] = values[i] as string | null;
    return row;
  };
}

function compileBindKey(keyTargetColumns: readonly TargetColumn[]): RowModel['bindKey'] {
  const integerKey = keyTargetColumns.map((column) => describeTarget(column).kind === 'integer');
  return (values) =>
    values.map((value, index) =>
      integerKey[index] && typeof value === 'string' && /^-?\d+$/.test(value)
        ? BigInt(value)
        : value,
    );
}

/**
 * A short fingerprint of what the source says about a key, to tell whether it changed between
 * two reads: absent, outside the filter, or the expected values.
 */
export function imageSignature(image: SourceImage | undefined): string {
  if (image === undefined) return 'absent';
  if (image.kind === 'filtered') return 'filtered';
  if (image.error !== undefined) return `error:${image.error.column}:${image.error.message}`;
  return JSON.stringify(image.values);
}

/** The same for a target row: absent, or its compared values. */
export function actualSignature(row: ActualRow | undefined): string {
  return row === undefined ? 'absent' : JSON.stringify(row.values);
}
