import type { TargetColumn } from '../values/column-types.js';
import { checkDerived, checkNull, checkTypes, tryValues } from './check-conversion.js';
import type { CheckReport } from './check-report.js';
import { compileTransforms } from './compile-transforms.js';
import { describeSourceType } from './describe-type.js';
import type { CopyRule, DeriveRule, TemplateRule } from './mapping-spec.js';
import type { ResolvedColumn, ResolvedMapping } from './resolve-mapping.js';
import { maxTextLength, transformBound, withDefaultBound } from './text-bounds.js';
import { valueOrder } from './value-order.js';

const jsonTypes = new Set(['json', 'jsonb']);

function checkCopy(report: CheckReport, column: ResolvedColumn, rule: CopyRule): void {
  const from = column.reads.get(rule.from);
  const to = column.column;
  if (!from || !to) return;
  const mayBeNull = rule.default === undefined ? !from.notNull : rule.default === null;
  checkTypes(report, from.type, to, column.field, !mayBeNull);
  if (rule.default !== undefined && rule.default !== null)
    tryValues(report, from.type, to, `${column.field}.default`, [rule.default], 'the default');
}

function checkConst(report: CheckReport, field: string, value: string | null, to?: TargetColumn) {
  if (!to) return;
  if (value === null) checkNull(report, to, `${field}.const`, true);
  tryValues(report, 'text', to, `${field}.const`, value === null ? [] : [value], 'the constant');
}

function checkTemplate(report: CheckReport, column: ResolvedColumn, rule: TemplateRule): void {
  const to = column.column;
  const placeholders = rule.parts.flatMap((part) => (part.kind === 'column' ? [part.column] : []));
  if (!to || placeholders.some((name) => !column.reads.has(name))) return;
  const nullable = placeholders.some((name) => !column.reads.get(name)!.notNull);
  const bound = rule.parts.reduce<number | undefined>((sum, part) => {
    if (sum === undefined) return undefined;
    if (part.kind === 'text') return sum + [...part.text].length;
    const length = maxTextLength(column.reads.get(part.column)!.type);
    return length === undefined ? undefined : sum + length;
  }, 0);
  checkDerived(
    report,
    to,
    column.field,
    transformBound(withDefaultBound(bound, rule.default), rule.transform),
    rule.default === undefined ? nullable : rule.default === null,
  );
}

function checkDerive(report: CheckReport, column: ResolvedColumn, rule: DeriveRule): void {
  const { field } = column;
  const from = column.reads.get(rule.from);
  if (!from) return;
  const type = describeSourceType(from.type);
  if (rule.path && !jsonTypes.has(from.type.name)) {
    report.error(
      'PATH_NOT_JSON',
      `${field}.path`,
      `path needs a json or jsonb column; ${rule.from} is ${type}`,
    );
    return;
  }
  if (rule.map && !rule.path) {
    const order = valueOrder(from.type);
    for (const key of rule.map.keys()) {
      if (order.key(key) === undefined)
        report.warn(
          'MAP_KEY_NEVER_MATCHES',
          `${field}.map`,
          `key '${key}' can never match: ${rule.from} is ${type}`,
        );
    }
  }
  const to = column.column;
  if (!to) return;
  const inputMayBeNull = !from.notNull || rule.path !== undefined;
  const hasDefault = rule.default !== undefined;
  if (rule.map) {
    // A map has a known set of results: convert each of them now rather than warn about types.
    const transform = compileTransforms(rule.transform) ?? ((text: string) => text);
    const results = [...rule.map.values(), ...(hasDefault ? [rule.default!] : [])];
    checkNull(report, to, field, results.includes(null) || (!hasDefault && inputMayBeNull));
    const texts = [
      ...new Set(results.filter((value): value is string => value !== null).map(transform)),
    ];
    tryValues(report, 'text', to, `${field}.map`, texts, 'mapped value');
    return;
  }
  const bound = rule.path ? undefined : maxTextLength(from.type);
  checkDerived(
    report,
    to,
    field,
    transformBound(withDefaultBound(bound, rule.default), rule.transform),
    hasDefault ? rule.default === null : inputMayBeNull,
  );
}

/** Each mapped column: its names, then what its rule can put into the target column. */
export function checkColumns(report: CheckReport, resolved: ResolvedMapping): void {
  for (const column of resolved.columns) {
    report.add(column.problems);
    const { rule } = column;
    if (rule.kind === 'copy') checkCopy(report, column, rule);
    else if (rule.kind === 'const') checkConst(report, column.field, rule.value, column.column);
    else if (rule.kind === 'template') checkTemplate(report, column, rule);
    else checkDerive(report, column, rule);
  }
}
