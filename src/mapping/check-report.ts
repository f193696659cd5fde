import { type MappingProblem, problemAt } from './mapping-problem.js';
import type { MappingSpec } from './mapping-spec.js';

/** Where the checks of one mapping file their problems, in the order they find them. */
export interface CheckReport {
  readonly spec: MappingSpec;
  error(code: string, field: string | undefined, message: string): void;
  warn(code: string, field: string | undefined, message: string): void;
  /** Problems found elsewhere (resolving names), in their place in the order. */
  add(problems: readonly MappingProblem[]): void;
  readonly problems: readonly MappingProblem[];
}

export function createCheckReport(spec: MappingSpec): CheckReport {
  const problems: MappingProblem[] = [];
  return {
    spec,
    error: (code, field, message) => problems.push(problemAt(spec, 'error', code, field, message)),
    warn: (code, field, message) => problems.push(problemAt(spec, 'warning', code, field, message)),
    add: (found) => problems.push(...found),
    problems,
  };
}

/** `(a, b)`: a column list as messages show it. */
export const columnList = (columns: readonly string[]) => `(${columns.join(', ')})`;

/** Whether two column lists name the same columns, in any order and case. */
export function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  const left = a.map((column) => column.toLowerCase()).sort();
  const right = b.map((column) => column.toLowerCase()).sort();
  return left.length === right.length && left.every((column, index) => column === right[index]);
}
