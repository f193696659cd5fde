import { createHash } from 'node:crypto';
import { quoteIdent } from '../mysql/sql/quote.js';
import type { TargetColumn } from '../values/column-types.js';
import { describeTarget } from '../values/target-spec.js';
import type { ExpectedRow, RowModel } from './row-model.js';

/**
 * Per-chunk hashing for the `range` strategy, in the manner of data-diff: MySQL renders each
 * live target row of a chunk as text, joins them in key order and returns only the count and the
 * MD5; the audit renders the rows the source implies the same way. Equal digests mean equal
 * chunks, and the target rows never cross the network; a different digest sends the chunk
 * through the row-by-row comparison, which decides.
 *
 * Exactness: a column takes part only if MySQL renders every stored value as exactly its
 * canonical form, compileCanonical of what mysql2 reads (CAST … AS CHAR for numbers and times,
 * the string itself, LOWER(HEX()) for bytes; test/audit/chunk-hash.test.ts checks edge values of
 * each type on the server). Fields are escaped and NULL has its own mark, so a row's text is
 * injective, and equal digests mean equal canonical cells (up to an MD5 collision). JSON, FLOAT
 * and other types whose canonical form the server cannot produce (sorted keys, float rounding)
 * disable hashing for the mapping.
 */
export interface ChunkHasher {
  /** MySQL expression of one row's text. */
  readonly rowSql: string;
  /** Condition selecting live rows (soft-deleted ones count as absent); undefined when all are. */
  readonly liveSql: string | undefined;
  /** MD5 (hex) of the texts of `rows`, in the order given. */
  digest(rows: readonly ExpectedRow[]): string;
}

const escapeChar = String.fromCharCode(27);
const nullMark = String.fromCharCode(30);
const separator = String.fromCharCode(31);

/** Escapes the three characters the row text reserves, so field boundaries stay unambiguous. */
export function escapeText(value: string): string {
  if (
    value.indexOf(escapeChar) === -1 &&
    value.indexOf(separator) === -1 &&
    value.indexOf(nullMark) === -1
  ) {
    return value;
  }
  return value
    .replaceAll(escapeChar, `${escapeChar}${escapeChar}`)
    .replaceAll(separator, `${escapeChar}_`)
    .replaceAll(nullMark, `${escapeChar}^`);
}

const sqlEscape = (expression: string) =>
  `REPLACE(REPLACE(REPLACE(${expression}, CHAR(27 USING utf8mb4), CONCAT(CHAR(27 USING utf8mb4), CHAR(27 USING utf8mb4))), CHAR(31 USING utf8mb4), CONCAT(CHAR(27 USING utf8mb4), '_')), CHAR(30 USING utf8mb4), CONCAT(CHAR(27 USING utf8mb4), '^'))`;

/** How MySQL renders a column as its canonical text, and whether the text needs escaping; undefined when it cannot. */
export function columnSql(column: TargetColumn): { sql: string; text: boolean } | undefined {
  const rendered = canonicalColumnSql(column);
  if (rendered === undefined || !rendered.text) return rendered;
  return { sql: sqlEscape(rendered.sql), text: true };
}

/**
 * How MySQL renders a column as exactly its canonical text, unescaped, and whether it is
 * character data (which may hold any separator); undefined when it cannot.
 */
export function canonicalColumnSql(
  column: TargetColumn,
): { sql: string; text: boolean } | undefined {
  const name = quoteIdent(column.name);
  switch (describeTarget(column).kind) {
    case 'integer':
    case 'year':
    case 'decimal':
    case 'date':
    case 'datetime':
    case 'timestamp':
    case 'time':
      return { sql: `CAST(${name} AS CHAR)`, text: false };
    case 'bit':
      return { sql: `CAST(${name} + 0 AS CHAR)`, text: false };
    case 'binary':
      return { sql: `LOWER(HEX(${name}))`, text: false };
    case 'string':
    case 'enum':
      return { sql: name, text: true };
    default:
      return undefined;
  }
}

/** The hasher of a mapping, or undefined when a compared column has no exact server rendering. */
export function buildChunkHasher(model: RowModel): ChunkHasher | undefined {
  const columns = [...model.keyTargetColumns, ...model.compareTargetColumns];
  const rendered = columns.map(columnSql);
  if (rendered.some((column) => column === undefined)) return undefined;
  const parts = rendered.map(
    (column) =>
      `IFNULL(CONVERT(${column!.sql} USING utf8mb4) COLLATE utf8mb4_bin, CHAR(30 USING utf8mb4))`,
  );
  const rowSql = `CONCAT_WS(CHAR(31 USING utf8mb4), ${parts.join(', ')})`;
  const keyCount = model.keyColumns.length;
  const textKey = rendered.slice(0, keyCount).map((column) => column!.text);
  const textValue = rendered.slice(keyCount).map((column) => column!.text);
  const liveSql = liveCondition(model);

  const rowText = (row: ExpectedRow): string => {
    let text = '';
    for (let i = 0; i < keyCount; i++) {
      const part = row.keyParts[i]!;
      text += (i === 0 ? '' : separator) + (textKey[i] ? escapeText(part) : part);
    }
    const values = row.values;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      text +=
        separator +
        (value === null || value === undefined
          ? nullMark
          : textValue[i]
            ? escapeText(value)
            : value);
    }
    return text;
  };

  return Object.freeze({
    rowSql,
    liveSql,
    digest(rows: readonly ExpectedRow[]): string {
      // One update per row: joining the chunk's row texts first costs more, since every rope
      // string built by concatenation must be flattened for the join.
      const hash = createHash('md5');
      for (let i = 0; i < rows.length; i++) {
        hash.update(i === 0 ? rowText(rows[i]!) : separator + rowText(rows[i]!), 'utf8');
      }
      return hash.digest('hex');
    },
  });
}

/** The condition selecting live target rows (soft-deleted ones count as absent); undefined when all are. */
export function liveCondition(model: RowModel): string | undefined {
  const flag = model.flagColumn;
  return flag === undefined
    ? undefined
    : `(${quoteIdent(flag)} IS NULL OR ${quoteIdent(flag)} = 0)`;
}
