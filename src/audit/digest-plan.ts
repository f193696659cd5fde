import type { MappingSpec } from '../mapping/mapping-spec.js';
import { quoteIdent } from '../mysql/sql/quote.js';
import { quotePgIdent } from '../postgres/pg-client.js';
import { type PgSession, pgCanonicalSql } from '../values/pg-canonical-sql.js';
import { describeSource } from '../values/source-spec.js';
import { describeTarget } from '../values/target-spec.js';
import { canonicalColumnSql } from './chunk-hash.js';
import { renderFilter } from './digest-filter.js';
import { renderRule } from './digest-rules.js';
import type { RowModel } from './row-model.js';

/**
 * How both databases compute the digest of a mapping's rows (the `digest` strategy): each side
 * renders a row's key and compared columns as their canonical texts (PostgreSQL from the source
 * row through the mapping's rules, MySQL from what it holds), and the row as those texts one
 * after the other in one concatenation that skips NULLs: character data length-prefixed
 * (`<UTF-8 bytes>:<text>`, so `0:` for '' and `:` for NULL), other values (numbers, dates and
 * times: ASCII, never empty, without `;`) followed by `;` (`;` alone for NULL). A value the
 * conversion rejects is on the PostgreSQL side the rejection mark (`\x01…`, which no non-text
 * value starts with) or, in character data, the mark with `E` for its length, which MySQL never
 * writes. So no two different rows share a text. A row's hash is the first 64 bits of the MD5 of
 * that text (UTF-8 on both sides); a key range's digest is the row count and the XOR of the
 * hashes, so order does not matter (keys are unique on each side, so no row cancels its twin).
 */
export interface DigestPlan {
  /** The source column key buckets are cut on (the key's first), quoted; an integer column. */
  readonly sourceKey: string;
  /** PostgreSQL: each field's canonical text (key columns first, then compared columns), over the source row. */
  readonly sourceFields: readonly SourceField[];
  /** PostgreSQL: the mapping's filter as a condition on the source row; undefined without one. */
  readonly sourceFilter: string | undefined;
  /** The target column matching sourceKey, quoted. */
  readonly targetKey: string;
  /** MySQL: the row's text, over the target row. */
  readonly targetRowSql: string;
}

export interface SourceField {
  readonly sql: string;
  /** Character data: length-prefixed; any other canonical text is non-empty ASCII without `;` and ends in one. */
  readonly text: boolean;
}

/** A plan, or why the mapping is compared row by row. */
export type DigestChoice =
  | { readonly plan: DigestPlan; readonly reason?: undefined }
  | { readonly plan?: undefined; readonly reason: string };

/** Character sets whose bytes are UTF-8 as they are. */
const utf8Sets = new Set(['utf8mb4', 'utf8mb3', 'utf8', 'ascii']);

export function planDigest(model: RowModel, spec: MappingSpec, session: PgSession): DigestChoice {
  const { mapping, sourceTable } = model;
  // Buckets are ranges of the key's first column; the other key columns are fields of the row.
  const keyType = (index: number) =>
    sourceTable.columns.get(mapping.sourceKeyColumns[index]!)!.type;
  const leading = keyType(0);
  if (
    describeSource(leading).family !== 'integer' ||
    leading.name === 'oid' ||
    describeTarget(model.keyTargetColumns[0]!).kind !== 'integer'
  ) {
    return { reason: "digests cut key ranges on the key's first column, an integer one only" };
  }
  let sourceFilter: string | undefined;
  if (spec.filter !== undefined) {
    const rendered = renderFilter(spec.filter, sourceTable, session);
    if (rendered.reason !== undefined) return { reason: rendered.reason };
    sourceFilter = rendered.sql;
  }
  const sourceSql: string[] = [];
  for (let i = 0; i < mapping.sourceKeyColumns.length; i++) {
    const render = pgCanonicalSql(keyType(i), model.keyTargetColumns[i]!, session);
    if (render === undefined) {
      return {
        reason: `key ${mapping.sourceKeyColumns[i]}: ${keyType(i).name} has no exact SQL rendering`,
      };
    }
    sourceSql.push(render(quotePgIdent(mapping.sourceKeyColumns[i]!)));
  }
  const targetColumns = [...model.keyTargetColumns, ...model.compareTargetColumns];
  for (let i = 0; i < model.compareColumns.length; i++) {
    const name = model.compareColumns[i]!.toLowerCase();
    const column = spec.columns.find((candidate) => candidate.target.toLowerCase() === name);
    if (column === undefined) return { reason: `${name} is not a mapped column` };
    const rendered = renderRule(column.rule, model.compareTargetColumns[i]!, sourceTable, session);
    if (rendered.reason !== undefined) return { reason: `${column.target}: ${rendered.reason}` };
    sourceSql.push(rendered.sql);
  }
  const targetFields: string[] = [];
  const sourceFields: SourceField[] = [];
  for (let i = 0; i < targetColumns.length; i++) {
    const column = targetColumns[i]!;
    const rendered = canonicalColumnSql(column);
    if (rendered === undefined) {
      return { reason: `${column.name}: MySQL cannot render ${column.columnType} canonically` };
    }
    sourceFields.push({ sql: sourceSql[i]!, text: rendered.text });
    if (rendered.text) {
      // Its own characters as UTF-8, which PostgreSQL hashes: converted unless the column's
      // bytes already are (the conversion costs a tenth of the statement). The prefix counts
      // bytes (constant time on both sides; equal bytes, equal count).
      const text = utf8Sets.has(column.characterSet ?? '')
        ? rendered.sql
        : `CONVERT(${rendered.sql} USING utf8mb4)`;
      targetFields.push(`LENGTH(${text}), ':', ${text}`);
    } else targetFields.push(`${rendered.sql}, ';'`);
  }
  return {
    plan: Object.freeze({
      sourceKey: quotePgIdent(mapping.sourceKeyColumns[0]!),
      sourceFields: Object.freeze(sourceFields),
      sourceFilter,
      targetKey: quoteIdent(model.keyTargetColumns[0]!.name),
      // CONCAT_WS skips NULLs (CONCAT would give NULL), as PostgreSQL's concat() does.
      targetRowSql: `CONCAT_WS('', ${targetFields.join(', ')})`,
    }),
  };
}
