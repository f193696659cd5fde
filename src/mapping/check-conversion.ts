import { describeError } from '../errors/millrace-error.js';
import type { SourceType, TargetColumn } from '../values/column-types.js';
import { checkCompatibility } from '../values/compatibility.js';
import { compileConversion } from '../values/compile-conversion.js';
import type { CheckReport } from './check-report.js';
import { describeSourceType } from './describe-type.js';

const charTypes = new Set(['char', 'varchar']);
const textTypes = new Set(['tinytext', 'text', 'mediumtext', 'longtext']);

/** PostgreSQL's limit for one value, in bytes: no text is longer. */
const pgFieldLimit = 1_073_741_823;

/** A target column's type as messages show it: MariaDB's JSON is a LONGTEXT, but people wrote JSON. */
const typeLabel = (column: TargetColumn) => (column.isJson ? 'json' : column.columnType);

/** A plain copy: the values module's verdict for the pair, and NULLs into NOT NULL. */
export function checkTypes(
  report: CheckReport,
  type: SourceType,
  to: TargetColumn,
  field: string,
  notNull: boolean,
): void {
  const verdict = checkCompatibility(type, to);
  const pair = `${describeSourceType(type)} into ${typeLabel(to)}`;
  if (verdict.level === 'error')
    report.error('TYPE_INCOMPATIBLE', field, `${pair}: ${verdict.reason ?? 'cannot be converted'}`);
  else if (verdict.level === 'warning')
    report.warn(
      'TYPE_WARNING',
      field,
      `${pair}: ${verdict.reason ?? 'some values may be rejected'}`,
    );
  checkNull(report, to, field, !notNull);
}

/** Text computed per row (template, path, transform): length and parse risks. */
export function checkDerived(
  report: CheckReport,
  to: TargetColumn,
  field: string,
  bound: number | undefined,
  mayBeNull: boolean,
): void {
  checkNull(report, to, field, mayBeNull);
  const verdict = checkCompatibility('text', to);
  const pair = `derived text into ${typeLabel(to)}`;
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
  if (!to.isJson) checkLength(report, to, field, bound);
}

function checkLength(
  report: CheckReport,
  to: TargetColumn,
  field: string,
  bound: number | undefined,
): void {
  if (to.maxLength === null) return;
  const values = `values ${bound === undefined ? 'of unbounded length' : `of up to ${bound} characters`}`;
  if (charTypes.has(to.dataType) && (bound === undefined || bound > to.maxLength)) {
    report.warn(
      'VALUE_MAY_NOT_FIT',
      field,
      `${values} go into ${to.columnType}: longer ones are rejected as bad rows (add transform: [{ truncate: ${to.maxLength} }] to cut them)`,
    );
  } else if (
    textTypes.has(to.dataType) &&
    (bound === undefined ? pgFieldLimit : bound * 4) > to.maxLength
  ) {
    report.warn(
      'VALUE_MAY_NOT_FIT',
      field,
      `${values} go into ${to.columnType} (${to.maxLength} bytes): longer ones are rejected as bad rows`,
    );
  }
}

export function checkNull(
  report: CheckReport,
  to: TargetColumn,
  field: string,
  mayBeNull: boolean,
): void {
  if (mayBeNull && !to.nullable) {
    report.warn(
      'NULL_INTO_NOT_NULL',
      field,
      `the value can be NULL but ${report.spec.target}.${to.name} is NOT NULL: such rows are rejected as bad rows`,
    );
  }
}

/** Converts known values now: a constant or mapped value that cannot fit is an error today, not a bad row later. */
export function tryValues(
  report: CheckReport,
  type: SourceType | 'text',
  to: TargetColumn,
  field: string,
  values: readonly string[],
  what: string,
): void {
  const { spec } = report;
  let conversion: ((text: string | null) => unknown) | undefined;
  try {
    conversion = compileConversion(type, to, { mapping: spec.name, column: to.name });
  } catch (failure) {
    report.error(
      'TYPE_INCOMPATIBLE',
      field,
      `${type === 'text' ? 'text' : describeSourceType(type)} into ${typeLabel(to)}: ${describeError(failure)}`,
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
        `${what} '${value}' does not fit ${typeLabel(to)}: ${reason.startsWith(prefix) ? reason.slice(prefix.length) : reason}`,
      );
    }
  }
}
