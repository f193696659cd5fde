import { checkDerived, checkNull, checkTypes, tryValues } from './check-conversion.js';
import type { CheckReport } from './check-report.js';
import { compileTransforms } from './compile-transforms.js';
import type { DirectionTypes, NamedColumn } from './direction-types.js';
import type { CopyRule, DeriveRule, TemplateRule } from './mapping-spec.js';
import type { ResolvedColumn, ResolvedMapping } from './resolve-mapping.js';
import { transformBound, withDefaultBound } from './text-bounds.js';

interface ColumnCheck<S, T extends NamedColumn> {
  readonly report: CheckReport;
  readonly types: DirectionTypes<S, T>;
  readonly column: ResolvedColumn<S, T>;
}

function checkCopy<S, T extends NamedColumn>(
  { report, types, column }: ColumnCheck<S, T>,
  rule: CopyRule,
): void {
  const from = column.reads.get(rule.from);
  const to = column.column;
  if (!from || !to) return;
  const mayBeNull = rule.default === undefined ? !from.notNull : rule.default === null;
  checkTypes(report, types, from.type, to, column.field, !mayBeNull);
  if (rule.default !== undefined && rule.default !== null)
    tryValues(
      report,
      types,
      from.type,
      to,
      `${column.field}.default`,
      [rule.default],
      'the default',
    );
}

function checkConst<S, T extends NamedColumn>(
  { report, types, column }: ColumnCheck<S, T>,
  value: string | null,
) {
  const to = column.column;
  const field = column.field;
  if (!to) return;
  if (value === null) checkNull(report, types, to, `${field}.const`, true);
  tryValues(
    report,
    types,
    'text',
    to,
    `${field}.const`,
    value === null ? [] : [value],
    'the constant',
  );
}

function checkTemplate<S, T extends NamedColumn>(
  { report, types, column }: ColumnCheck<S, T>,
  rule: TemplateRule,
): void {
  const to = column.column;
  const placeholders = rule.parts.flatMap((part) => (part.kind === 'column' ? [part.column] : []));
  if (!to || placeholders.some((name) => !column.reads.has(name))) return;
  const nullable = placeholders.some((name) => !column.reads.get(name)!.notNull);
  const bound = rule.parts.reduce<number | undefined>((sum, part) => {
    if (sum === undefined) return undefined;
    if (part.kind === 'text') return sum + [...part.text].length;
    const length = types.sourceTextLength(column.reads.get(part.column)!.type);
    return length === undefined ? undefined : sum + length;
  }, 0);
  checkDerived(
    report,
    types,
    to,
    column.field,
    transformBound(withDefaultBound(bound, rule.default), rule.transform),
    rule.default === undefined ? nullable : rule.default === null,
  );
}

function checkDerive<S, T extends NamedColumn>(
  { report, types, column }: ColumnCheck<S, T>,
  rule: DeriveRule,
): void {
  const { field } = column;
  const from = column.reads.get(rule.from);
  if (!from) return;
  const type = types.describeSource(from.type);
  if (rule.path && !types.sourceIsJson(from.type)) {
    report.error(
      'PATH_NOT_JSON',
      `${field}.path`,
      `path needs a json or jsonb column; ${rule.from} is ${type}`,
    );
    return;
  }
  if (rule.map && !rule.path) {
    const order = types.sourceOrder(from.type);
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
    checkNull(report, types, to, field, results.includes(null) || (!hasDefault && inputMayBeNull));
    const texts = [
      ...new Set(results.filter((value): value is string => value !== null).map(transform)),
    ];
    tryValues(report, types, 'text', to, `${field}.map`, texts, 'mapped value');
    return;
  }
  const bound = rule.path ? undefined : types.sourceTextLength(from.type);
  checkDerived(
    report,
    types,
    to,
    field,
    transformBound(withDefaultBound(bound, rule.default), rule.transform),
    hasDefault ? rule.default === null : inputMayBeNull,
  );
}

/** Each mapped column: its names, then what its rule can put into the target column. */
export function checkColumns<S, T extends NamedColumn>(
  report: CheckReport,
  resolved: ResolvedMapping<S, T>,
): void {
  for (const column of resolved.columns) {
    report.add(column.problems);
    const { rule } = column;
    const check = { report, types: resolved.types, column };
    if (rule.kind === 'copy') checkCopy(check, rule);
    else if (rule.kind === 'const') checkConst(check, rule.value);
    else if (rule.kind === 'template') checkTemplate(check, rule);
    else checkDerive(check, rule);
  }
}
