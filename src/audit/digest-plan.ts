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
 * writes. So no two different rows share a text, and a row's text ends where its last field
 * ends: a run of row texts splits into its rows one way only. A key range's digest is its row
 * count and the MD5 of its rows' texts joined in key order (UTF-8 on both sides): equal digests
 * mean equal rows, up to an MD5 collision. Both sides order alike (the key's first column as an
 * integer, then the other key columns' texts byte by byte), and were they ever not to, equal rows
 * would only look different and be compared row by row: never the reverse. One hash per range
 * rather than one per row is what makes the digest cheap: hashing is most of a row's cost.
 */
export interface DigestPlan {
  /** The source column key buckets are cut on (the key's first), quoted; an integer column. */
  readonly sourceKey: string;
  /** PostgreSQL: each field's canonical text (key columns first, then compared columns), over the source row. */
  readonly sourceFields: readonly SourceField[];
  /** PostgreSQL: the mapping's filter as a condition on the source row; undefined without one. */
  readonly sourceFilter: string | undefined;
  /** How many of sourceFields are key columns (they come first). */
  readonly keyFields: number;
  /** The target column matching sourceKey, quoted. */
  readonly targetKey: string;
  /** MySQL: the row's text, over the target row. */
  readonly targetRowSql: string;
  /** MySQL: the order rows are joined in, as PostgreSQL joins them (see above). */
  readonly targetOrderSql: string;
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

/**
 * Why the key's first column cannot cut buckets, if it cannot: buckets are integer ranges, each
 * read by a range scan of an index that leads with it.
 */
function bucketKeyReason({ mapping, sourceTable, keyTargetColumns }: RowModel): string | undefined {
  const first = mapping.sourceKeyColumns[0]!;
  const type = sourceTable.columns.get(first)!.type;
  if (
    describeSource(type).family !== 'integer' ||
    type.name === 'oid' ||
    describeTarget(keyTargetColumns[0]!).kind !== 'integer'
  ) {
    return "digests cut key ranges on the key's first column, an integer one only";
  }
  const indexed =
    sourceTable.primaryKey[0] === first ||
    (sourceTable.replicaIdentity === 'i' && sourceTable.identityColumns[0] === first);
  return indexed
    ? undefined
    : `digests read key ranges by an index that leads with ${first}; there is none`;
}

export function planDigest(model: RowModel, spec: MappingSpec, session: PgSession): DigestChoice {
  const { mapping, sourceTable } = model;
  // Buckets are ranges of the key's first column; the other key columns are fields of the row.
  const keyType = (index: number) =>
    sourceTable.columns.get(mapping.sourceKeyColumns[index]!)!.type;
  const unbucketed = bucketKeyReason(model);
  if (unbucketed !== undefined) return { reason: unbucketed };
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
  const targetOrder = [quoteIdent(model.keyTargetColumns[0]!.name)];
  const sourceFields: SourceField[] = [];
  for (let i = 0; i < targetColumns.length; i++) {
    const column = targetColumns[i]!;
    const rendered = canonicalColumnSql(column);
    if (rendered === undefined) {
      return { reason: `${column.name}: MySQL cannot render ${column.columnType} canonically` };
    }
    sourceFields.push({ sql: sourceSql[i]!, text: rendered.text });
    // Character data as UTF-8, which PostgreSQL hashes: converted unless the column's bytes
    // already are (the conversion costs a tenth of the statement). The prefix counts bytes
    // (constant time on both sides; equal bytes, equal count).
    const text =
      !rendered.text || utf8Sets.has(column.characterSet ?? '')
        ? rendered.sql
        : `CONVERT(${rendered.sql} USING utf8mb4)`;
    targetFields.push(rendered.text ? `LENGTH(${text}), ':', ${text}` : `${text}, ';'`);
    // The other key columns order rows by their texts' bytes, as PostgreSQL's "C" collation does.
    if (i > 0 && i < model.keyTargetColumns.length) targetOrder.push(`CAST(${text} AS BINARY)`);
  }
  return {
    plan: Object.freeze({
      sourceKey: quotePgIdent(mapping.sourceKeyColumns[0]!),
      sourceFields: Object.freeze(sourceFields),
      sourceFilter,
      keyFields: model.keyTargetColumns.length,
      targetKey: quoteIdent(model.keyTargetColumns[0]!.name),
      // CONCAT_WS skips NULLs (CONCAT would give NULL): a NULL field adds its mark alone.
      targetRowSql: `CONCAT_WS('', ${targetFields.join(', ')})`,
      targetOrderSql: targetOrder.join(', '),
    }),
  };
}
