import { type Canonicalizer, compileCanonical } from '../values/canonical.js';
import type { TargetColumn } from '../values/column-types.js';
import { describeTarget } from '../values/target-spec.js';

/**
 * compileCanonical with shortcuts for values already in canonical form, which is what the
 * converters produce and what MySQL returns: a DECIMAL text with exactly the column's scale, a
 * DATETIME text with exactly its fractional digits, a plain string. Parsing and re-formatting
 * such a value gives it back unchanged, so the shortcut only skips work (the audit canonicalises
 * every cell of both sides: at 10M rows this parsing was most of its time). Anything else goes
 * through compileCanonical; test/audit/comparable.test.ts checks both agree.
 */
export function compileComparable(column: TargetColumn): Canonicalizer {
  const canonical = compileCanonical(column);
  const target = describeTarget(column);
  switch (target.kind) {
    case 'decimal': {
      const form =
        target.scale > 0
          ? new RegExp(`^-?(?:0|[1-9][0-9]*)\\.[0-9]{${target.scale}}$`)
          : /^-?(?:0|[1-9][0-9]*)$/;
      // '-0.00' is not canonical: MySQL stores zero without a sign.
      const negativeZero = /^-0(?:\.0*)?$/;
      return (value) =>
        typeof value === 'string' && form.test(value) && !negativeZero.test(value)
          ? value
          : canonical(value);
    }
    case 'datetime':
    case 'timestamp': {
      const form =
        target.fsp > 0
          ? new RegExp(
              `^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{${target.fsp}}$`,
            )
          : /^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$/;
      return (value) => (typeof value === 'string' && form.test(value) ? value : canonical(value));
    }
    case 'string':
      if (target.padded) {
        return (value) =>
          typeof value === 'string' && !value.endsWith(' ') ? value : canonical(value);
      }
      return (value) => (typeof value === 'string' ? value : canonical(value));
    case 'enum':
      return (value) => (typeof value === 'string' ? value : canonical(value));
    case 'integer':
      return (value) =>
        typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : canonical(value);
    default:
      return canonical;
  }
}
