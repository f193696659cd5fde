import { ValueError } from '../errors/millrace-error.js';
import { compileTransforms } from '../mapping/compile-transforms.js';
import type { ColumnRule, Transform } from '../mapping/mapping-spec.js';
import type { SourceTable } from '../mapping/tables.js';
import { quotePgIdent } from '../postgres/pg-client.js';
import { compileCanonical } from '../values/canonical.js';
import type { SourceType, TargetColumn } from '../values/column-types.js';
import { compileConversion } from '../values/compile-conversion.js';
import {
  type PgSession,
  pgCanonicalSql,
  pgRejectSql,
  pgTextLiteral,
} from '../values/pg-canonical-sql.js';

/** A column's PostgreSQL rendering, or why it has none (the mapping is then compared by rows). */
export type RuleRendering =
  | { readonly sql: string; readonly reason?: undefined }
  | { readonly sql?: undefined; readonly reason: string };

/**
 * Whitespace String.prototype.trim removes (ECMAScript WhiteSpace and LineTerminator: the Zs
 * category, tab, VT, FF, BOM, LF, CR, LS, PS). btrim with exactly this set removes the same;
 * PostgreSQL's one-argument btrim removes spaces only.
 */
export const jsTrimCharacters =
  '\t\n\u000b\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';

/**
 * Source types whose `::text` is exactly the text form the stream reads (the type's output
 * function): derived rules (templates, transforms) start from that text. Not char(n) (its cast
 * drops the padding the text form has), not boolean (`true` against `t`), not the date/time
 * types (their text follows the session's DateStyle and zone).
 */
const textFormTypes = new Set(['text', 'varchar', 'int2', 'int4', 'int8', 'numeric', 'uuid']);

function hasTextForm(type: SourceType): boolean {
  return textFormTypes.has(type.name) || type.category === 'E';
}

/**
 * The PostgreSQL expression of one mapped column's canonical text (see pgCanonicalSql), written
 * from its rule. Values fixed by the rule (constants, value maps, defaults) are converted here,
 * by the values module itself, and enter the SQL as literals; only what depends on the row is
 * rendered in SQL. Not rendered: JSON paths, upper/lower on row values (JavaScript's case
 * mapping is not PostgreSQL's for some characters), and what pgCanonicalSql does not render.
 */
export function renderRule(
  rule: ColumnRule,
  column: TargetColumn,
  sourceTable: SourceTable,
  session: PgSession,
): RuleRendering {
  const typeOf = (name: string) => sourceTable.columns.get(name)!.type;
  switch (rule.kind) {
    case 'const':
      return { sql: literalOf(column, rule.value, undefined) };
    case 'copy': {
      const type = typeOf(rule.from);
      const render = pgCanonicalSql(type, column, session);
      if (render === undefined) return noRendering(type, column);
      const value = quotePgIdent(rule.from);
      if (rule.default === undefined) return { sql: render(value) };
      const fallback = literalOf(column, rule.default, undefined, type);
      return { sql: `CASE WHEN ${value} IS NULL THEN ${fallback} ELSE ${render(value)} END` };
    }
    case 'derive': {
      if (rule.path !== undefined) return { reason: 'JSON paths are read in JavaScript only' };
      const type = typeOf(rule.from);
      if (rule.map !== undefined) return renderMap(rule, type, column);
      if (!hasTextForm(type)) return noRendering(type, column);
      return renderText(
        [quotePgIdent(rule.from)],
        `(${quotePgIdent(rule.from)})::text`,
        rule,
        column,
        true,
      );
    }
    case 'template': {
      const columns: string[] = [];
      const parts: string[] = [];
      for (const part of rule.parts) {
        if (part.kind === 'text') {
          parts.push(pgTextLiteral(part.text));
          continue;
        }
        const type = typeOf(part.column);
        if (!hasTextForm(type)) return noRendering(type, column);
        columns.push(quotePgIdent(part.column));
        parts.push(`(${quotePgIdent(part.column)})::text`);
      }
      const text = parts.length === 0 ? "''::text" : `(${parts.join(' || ')})`;
      return renderText(columns, text, rule, column);
    }
  }
}

function noRendering(type: SourceType, column: TargetColumn): RuleRendering {
  return { reason: `${type.name} into ${column.columnType} has no exact SQL rendering` };
}

/**
 * A value map: every outcome (each mapped value, the default, NULL, the rejection of an
 * unmapped value) is fixed, so each is computed here and the SQL only picks one.
 */
function renderMap(
  rule: ColumnRule & { kind: 'derive' },
  type: SourceType,
  column: TargetColumn,
): RuleRendering {
  // Map keys match the text form, compared in the source type's value order: plain text only.
  if (!['text', 'varchar'].includes(type.name) && type.category !== 'E') {
    return { reason: `value maps over ${type.name} match by value order, not by text` };
  }
  const value = `(${quotePgIdent(rule.from)})::text`;
  const fallback =
    rule.default === undefined ? undefined : literalOf(column, rule.default, rule.transform);
  const arms = [...rule.map!].map(
    ([key, mapped]) =>
      `WHEN ${pgTextLiteral(key)} THEN ${literalOf(column, mapped, rule.transform)}`,
  );
  return {
    sql:
      `CASE WHEN ${value} IS NULL THEN ${fallback ?? 'NULL'} ELSE CASE ${value} COLLATE "C" ${arms.join(' ')}` +
      ` ELSE ${fallback ?? pgRejectSql} END END`,
  };
}

/**
 * Text built from the row (a derive without map, a template), then transforms and conversion.
 * `plain`: the text is one column's own, cheap enough to check a limit on before the transforms.
 */
function renderText(
  columns: readonly string[],
  text: string,
  rule: { readonly default?: string | null; readonly transform: readonly Transform[] },
  column: TargetColumn,
  plain = false,
): RuleRendering {
  const render = pgCanonicalSql('text', column);
  if (render === undefined) {
    return { reason: `derived text into ${column.columnType} is parsed in JavaScript only` };
  }
  let transformed = text;
  for (const transform of rule.transform) {
    switch (transform.kind) {
      case 'trim':
        transformed = `btrim(${transformed}, ${pgTextLiteral(jsTrimCharacters)})`;
        break;
      case 'truncate':
        transformed = `left(${transformed}, ${transform.length})`;
        break;
      default:
        return { reason: `${transform.kind} differs between JavaScript and PostgreSQL` };
    }
  }
  const fallback = literalOf(column, rule.default ?? null, rule.transform);
  // Trim and truncate only shorten: where the untransformed text fits, the result does.
  const rendered = render(transformed, plain && transformed !== text ? text : undefined);
  if (columns.length === 0) return { sql: rendered };
  const anyNull = columns.map((name) => `${name} IS NULL`).join(' OR ');
  return { sql: `CASE WHEN ${anyNull} THEN ${fallback} ELSE ${rendered} END` };
}

/**
 * The canonical text of a fixed value as a literal: `text` through the transforms and the
 * conversion (from `type`, a derived text by default), pgRejectSql when the conversion refuses it.
 */
function literalOf(
  column: TargetColumn,
  text: string | null,
  transforms: readonly Transform[] | undefined,
  type: SourceType | 'text' = 'text',
): string {
  if (text === null) return 'NULL';
  const transform = transforms === undefined ? undefined : compileTransforms(transforms);
  const convert = compileConversion(type, column, { mapping: 'audit', column: column.name });
  try {
    const canonical = compileCanonical(column)(convert(transform ? transform(text) : text));
    return canonical === null ? 'NULL' : pgTextLiteral(canonical);
  } catch (error) {
    if (error instanceof ValueError) return pgRejectSql;
    throw error;
  }
}
