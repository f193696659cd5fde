import { type SourceRow, UNCHANGED } from './compiled-mapping.js';
import type { FilterCondition, FilterSpec } from './mapping-spec.js';
import { compareText, type ValueOrder } from './value-order.js';

/** A compiled filter: true/false, or undefined when a column it reads arrived UNCHANGED. */
type RowPredicate = (row: SourceRow) => boolean | undefined;

interface FilterContext {
  /** The order of a source column's type (the compiler has already checked the column exists). */
  readonly orderOf: (column: string) => ValueOrder;
  /** Reports a literal that is not a value of its column's type (throws). */
  readonly invalid: (condition: FilterCondition, literal: string, expects: string) => never;
}

function literalKey(
  condition: FilterCondition,
  literal: string,
  order: ValueOrder,
  context: FilterContext,
): string {
  const key = order.key(literal);
  if (key === undefined) context.invalid(condition, literal, order.expects);
  return key;
}

/**
 * NULL semantics, chosen to read naturally in YAML rather than as SQL's three-valued logic: a
 * NULL column is not equal to anything, so `eq`, `in` and the orderings are false and `ne`,
 * `notIn` are true; only `isNull` tests for NULL.
 */
function compileCondition(condition: FilterCondition, context: FilterContext): RowPredicate {
  const { column, op } = condition;
  if (op === 'isNull') {
    const wanted = condition.value as boolean;
    return (row) => {
      const value = row[column];
      if (value === UNCHANGED || value === undefined) return undefined;
      return (value === null) === wanted;
    };
  }
  const order = context.orderOf(column);
  // A value whose text is not of the column's type cannot come from PostgreSQL; compare it as text.
  const keyOf = (text: string) => order.key(text) ?? text;
  if (op === 'in' || op === 'notIn') {
    const keys = new Set(
      (condition.value as readonly string[]).map((item) =>
        literalKey(condition, item, order, context),
      ),
    );
    const wanted = op === 'in';
    return (row) => {
      const value = row[column];
      if (value === UNCHANGED || value === undefined) return undefined;
      if (value === null) return !wanted;
      return keys.has(keyOf(value)) === wanted;
    };
  }
  const literal = literalKey(condition, condition.value as string, order, context);
  const test = comparison(op);
  const whenNull = op === 'ne';
  return (row) => {
    const value = row[column];
    if (value === UNCHANGED || value === undefined) return undefined;
    if (value === null) return whenNull;
    return test(compareText(keyOf(value), literal));
  };
}

function comparison(op: FilterCondition['op']): (order: number) => boolean {
  switch (op) {
    case 'eq':
      return (order) => order === 0;
    case 'ne':
      return (order) => order !== 0;
    case 'gt':
      return (order) => order > 0;
    case 'gte':
      return (order) => order >= 0;
    case 'lt':
      return (order) => order < 0;
    case 'lte':
      return (order) => order <= 0;
    default:
      throw new Error(`not a comparison: ${op}`);
  }
}

/**
 * A filter tree as nested closures. `all` is false as soon as one part is false, even when
 * another part depends on an UNCHANGED column; `any` is true as soon as one part is true.
 */
export function compileFilter(
  filter: FilterSpec | undefined,
  context: FilterContext,
): RowPredicate {
  if (filter === undefined) return () => true;
  if (filter.kind === 'condition') return compileCondition(filter, context);
  const parts = filter.items.map((item) => compileFilter(item, context));
  return combine(parts, filter.kind === 'any');
}

/** `all` (decided by a false part) or `any` (decided by a true part) over compiled parts. */
function combine(parts: readonly RowPredicate[], decisive: boolean): RowPredicate {
  return (row) => {
    let result: boolean | undefined = !decisive;
    for (const part of parts) {
      const value = part(row);
      if (value === decisive) return decisive;
      if (value === undefined) result = undefined;
    }
    return result;
  };
}
