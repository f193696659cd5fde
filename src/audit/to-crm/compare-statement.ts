import { quotePgIdent } from '../../postgres/pg-client.js';
import type { PgStatement } from '../../postgres/sink/sql/statement.js';
import { Params, quoteTargetTable } from '../../postgres/sink/sql/statement.js';
import type { TargetValue } from '../../values/column-types.js';
import type { CrmAuditModel } from './crm-audit-model.js';
import { scratchColumns, scratchName } from './scratch-table.js';

/**
 * Which CRM rows a comparison covers: all of the mapping's, a key range (a bound absent: open on
 * that side), or given keys (PostgreSQL input texts per key column).
 */
export type CrmScope =
  | { readonly kind: 'all' }
  | {
      readonly kind: 'range';
      readonly after: readonly TargetValue[] | undefined;
      readonly upTo: readonly TargetValue[] | undefined;
    }
  | { readonly kind: 'keys'; readonly keys: readonly (readonly string[])[] };

/**
 * What a comparison returns: a row per key not matched (the first `limit`), a row per key, or
 * how many keys have each status.
 */
export type CompareRows =
  | { readonly kind: 'differences'; readonly limit?: number }
  | { readonly kind: 'everything' }
  | { readonly kind: 'counts' };

/** The fixed columns of a result row, before the key texts and the per-column triples. */
export const resultLayout = Object.freeze({
  status: 0,
  sourceKey: 1,
  errorColumn: 2,
  error: 3,
  keys: 4,
});

/**
 * Whether a compared column differs. Exact where typed equality is not: json has no equality at
 * all, numeric equality ignores the stored scale (1.5 = 1.50), and a collation may call two
 * different strings equal; their text forms tell stored values apart.
 */
function distinct(model: CrmAuditModel, column: string): string {
  const type = model.types.get(column)!;
  const s = `s.${quotePgIdent(column)}`;
  const t = `t.${quotePgIdent(column)}`;
  if (type.name === 'json' || type.name === 'numeric' || type.category === 'S') {
    return `(${s}::text COLLATE "C" IS DISTINCT FROM ${t}::text COLLATE "C")`;
  }
  return `(${s} IS DISTINCT FROM ${t})`;
}

/** `flag` is unset or false (0): the row is live. Soft-deleted rows count as absent. */
function liveExpression(model: CrmAuditModel): string {
  const flag = model.mapping.softDelete?.flag;
  if (flag === undefined) return 'true';
  const column = quotePgIdent(flag);
  return `(${column} IS NULL OR ${column}::text IN ('0', 'false'))`;
}

function tuple(columns: readonly string[], prefix = ''): string {
  const quoted = columns.map((column) => `${prefix}${quotePgIdent(column)}`);
  return quoted.length === 1 ? quoted[0]! : `(${quoted.join(', ')})`;
}

function scopeCondition(model: CrmAuditModel, scope: CrmScope, params: Params): string[] {
  const keys = tuple(model.keyColumns);
  const values = (key: readonly unknown[]) =>
    key.length === 1 ? params.add(key[0]) : `(${key.map((value) => params.add(value)).join(', ')})`;
  if (scope.kind === 'range') {
    const conditions: string[] = [];
    if (scope.after !== undefined) conditions.push(`${keys} > ${values(scope.after)}`);
    if (scope.upTo !== undefined) conditions.push(`${keys} <= ${values(scope.upTo)}`);
    return conditions;
  }
  if (scope.kind === 'keys') {
    return scope.keys.length === 0
      ? ['false']
      : [`${keys} IN (${scope.keys.map(values).join(', ')})`];
  }
  return [];
}

/**
 * The comparison of the session table with the CRM rows in `scope`, in PostgreSQL: a FULL OUTER
 * JOIN on the key, typed values compared per column. One row per key that is not `matched`
 * (or per key, or counts: see CompareRows): status, the MES key, a refused value's column and reason, the
 * key's text forms, then per compared column whether it differs and, where it does, both text
 * forms.
 */
export function compareStatement(
  model: CrmAuditModel,
  scope: CrmScope,
  rows: CompareRows = { kind: 'differences' },
): PgStatement {
  const { mapping, keyColumns, compareColumns } = model;
  const params = new Params();
  const conditions = scopeCondition(model, scope, params);
  if (mapping.owner !== undefined) {
    conditions.push(`${quotePgIdent(mapping.owner.column)} = ${params.add(mapping.owner.value)}`);
  }
  const targetColumns = [...keyColumns, ...compareColumns].map(quotePgIdent).join(', ');
  const target = `SELECT ${targetColumns}, ${liveExpression(model)} AS _millrace_live FROM ${quoteTargetTable(mapping.target)}${conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : ''}`;
  const kind = `s.${quotePgIdent(scratchColumns.kind)}`;
  const error = `s.${quotePgIdent(scratchColumns.error)}`;
  const differs = compareColumns.map((column) => distinct(model, column));
  const anyDiffers = [`${error} IS NOT NULL`, ...differs].join(' OR ');
  const retained = mapping.onDelete === 'ignore' ? 'true' : 'false';
  const status = `CASE WHEN ${kind} = 'expected' THEN CASE WHEN t._millrace_live IS NOT TRUE THEN 'missing' WHEN ${anyDiffers} THEN 'different' ELSE 'matched' END WHEN t._millrace_live IS NOT TRUE THEN 'none' WHEN ${kind} IS NULL AND ${retained} THEN 'retained' ELSE 'extra' END`;
  const keyTexts = keyColumns.map((column) => {
    const name = quotePgIdent(column);
    return `COALESCE(s.${name}, t.${name})::text`;
  });
  const cells = compareColumns.flatMap((column, index) => {
    const name = quotePgIdent(column);
    const shown = `(${differs[index]} OR ${error} IS NOT NULL)`;
    return [
      differs[index]!,
      `CASE WHEN ${shown} THEN s.${name}::text END`,
      `CASE WHEN ${shown} THEN t.${name}::text END`,
    ];
  });
  const select = [
    `${status} AS status`,
    `s.${quotePgIdent(scratchColumns.sourceKey)}`,
    `s.${quotePgIdent(scratchColumns.errorColumn)}`,
    error,
    ...keyTexts,
    ...cells,
  ];
  const on = keyColumns
    .map((column) => `s.${quotePgIdent(column)} = t.${quotePgIdent(column)}`)
    .join(' AND ');
  const joined = `SELECT ${select.join(', ')} FROM ${scratchName(model)} s FULL OUTER JOIN (${target}) t ON ${on}`;
  const text =
    rows.kind === 'everything'
      ? joined
      : rows.kind === 'counts'
        ? `SELECT status, count(*)::text FROM (${joined}) compared GROUP BY status`
        : `SELECT * FROM (${joined}) compared WHERE status NOT IN ('matched', 'none')${rows.limit === undefined ? '' : ` LIMIT ${rows.limit}`}`;
  return { text, values: params.values };
}
