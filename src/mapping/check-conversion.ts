import { describeError } from '../errors/millrace-error.js';
import type { CheckReport } from './check-report.js';
import type { DirectionTypes, NamedColumn } from './direction-types.js';

/** PostgreSQL's limit for one value, in bytes: no text is longer. */
const pgFieldLimit = 1_073_741_823;

/** A plain copy: the values module's verdict for the pair, and NULLs into NOT NULL. */
export function checkTypes<S, T extends NamedColumn>(
  report: CheckReport,
  types: DirectionTypes<S, T>,
  type: S,
  to: T,
  field: string,
  notNull: boolean,
): void {
  const verdict = types.compatibility(type, to);
  const pair = `${types.describeSource(type)} into ${types.describeTarget(to)}`;
  if (verdict.level === 'error')
    report.error('TYPE_INCOMPATIBLE', field, `${pair}: ${verdict.reason ?? 'cannot be converted'}`);
  else if (verdict.level === 'warning')
    report.warn(
      'TYPE_WARNING',
      field,
      `${pair}: ${verdict.reason ?? 'some values may be rejected'}`,
    );
  checkNull(report, types, to, field, !notNull);
}

/** Text computed per row (template, path, transform): length and parse risks. */
export function checkDerived<S, T extends NamedColumn>(
  report: CheckReport,
  types: DirectionTypes<S, T>,
  to: T,
  field: string,
  bound: number | undefined,
  mayBeNull: boolean,
): void {
  checkNull(report, types, to, field, mayBeNull);
  const verdict = types.compatibility('text', to);
  const pair = `derived text into ${types.describeTarget(to)}`;
  if (verdict.level === 'error') {
    report.error('TYPE_INCOMPATIBLE', field, `${pair}: ${verdict.reason ?? 'cannot be converted'}`);
    return;
  }
  if (verdict.level === 'warning')
    report.warn(
      'TYPE_WARNING',
      field,
      `${pair}: ${verdict.reason ?? 'some values may be rejected'}`,
    );
  if (!types.targetIsJson(to)) checkLength(report, types, to, field, bound);
}

function checkLength<S, T extends NamedColumn>(
  report: CheckReport,
  types: DirectionTypes<S, T>,
  to: T,
  field: string,
  bound: number | undefined,
): void {
  const limit = types.targetTextLimit(to);
  if (limit === undefined) return;
  const label = types.describeTarget(to);
  const values = `values ${bound === undefined ? 'of unbounded length' : `of up to ${bound} characters`}`;
  if (limit.chars !== undefined && (bound === undefined || bound > limit.chars)) {
    report.warn(
      'VALUE_MAY_NOT_FIT',
      field,
      `${values} go into ${label}: longer ones are rejected as bad rows (add transform: [{ truncate: ${limit.chars} }] to cut them)`,
    );
  } else if (
    limit.bytes !== undefined &&
    (bound === undefined ? pgFieldLimit : bound * 4) > limit.bytes
  ) {
    report.warn(
      'VALUE_MAY_NOT_FIT',
      field,
      `${values} go into ${label} (${limit.bytes} bytes): longer ones are rejected as bad rows`,
    );
  }
}

export function checkNull<S, T extends NamedColumn>(
  report: CheckReport,
  types: DirectionTypes<S, T>,
  to: T,
  field: string,
  mayBeNull: boolean,
): void {
  if (mayBeNull && !types.targetNullable(to)) {
    report.warn(
      'NULL_INTO_NOT_NULL',
      field,
      `the value can be NULL but ${report.spec.target}.${to.name} is NOT NULL: such rows are rejected as bad rows`,
    );
  }
}

/** Converts known values now: a constant or mapped value that cannot fit is an error today, not a bad row later. */
export function tryValues<S, T extends NamedColumn>(
  report: CheckReport,
  types: DirectionTypes<S, T>,
  type: S | 'text',
  to: T,
  field: string,
  values: readonly string[],
  what: string,
): void {
  const { spec } = report;
  const label = types.describeTarget(to);
  let conversion: ((text: string | null) => unknown) | undefined;
  try {
    conversion = types.compile(type, to, { mapping: spec.name, column: to.name });
  } catch (failure) {
    report.error(
      'TYPE_INCOMPATIBLE',
      field,
      `${type === 'text' ? 'text' : types.describeSource(type)} into ${label}: ${describeError(failure)}`,
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
      report.error(
        'VALUE_NOT_CONVERTIBLE',
        field,
        `${what} '${value}' does not fit ${label}: ${reason.startsWith(prefix) ? reason.slice(prefix.length) : reason}`,
      );
    }
  }
}
