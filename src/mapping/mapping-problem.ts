import type { ErrorCode } from '../errors/error-codes.js';
import { MappingError } from '../errors/millrace-error.js';

/**
 * One thing wrong with a mapping, found while loading it or while checking it against the live
 * schemas. Errors stop a mapping from running; warnings are printed (and fail `--strict`).
 */
export interface MappingProblem {
  readonly level: 'error' | 'warning';
  /** Stable SCREAMING_SNAKE code for scripts and tests, e.g. `SOURCE_COLUMN_MISSING`. */
  readonly code: string;
  readonly file: string;
  /** The mapping's name; undefined for a problem with the whole file (YAML syntax). */
  readonly mapping?: string;
  /** YAML path of the field, e.g. `columns.state.map`; undefined for the whole mapping or file. */
  readonly field?: string;
  readonly message: string;
  /** 1-based line in the file, when known. */
  readonly line?: number;
  /** 1-based column in the line, when known (YAML syntax errors). */
  readonly column?: number;
}

/** `file: mapping: field: problem (line N)`, the one spelling every mapping message uses. */
export function formatProblem(problem: MappingProblem): string {
  const where =
    problem.mapping === undefined
      ? problem.line === undefined
        ? ''
        : ` line ${problem.line}${problem.column === undefined ? '' : `, column ${problem.column}`}:`
      : ` ${problem.mapping}:${problem.field === undefined ? '' : ` ${problem.field}:`}`;
  const line =
    problem.mapping !== undefined && problem.line !== undefined ? ` (line ${problem.line})` : '';
  return `${problem.file}:${where} ${problem.message}${line}`;
}

/**
 * The error a command fails with when mappings do not load or compile: the first problem's line,
 * with a count of the others (`mappings check` lists them all).
 */
export function mappingErrorOf(
  problems: readonly MappingProblem[],
  code: ErrorCode = 'MAPPING_INVALID',
): MappingError {
  const errors = problems.filter((problem) => problem.level === 'error');
  const first = errors[0] ?? problems[0];
  if (first === undefined) return new MappingError(code, 'mappings are invalid');
  const more =
    errors.length > 1 ? ` (and ${errors.length - 1} more; run 'millrace mappings check')` : '';
  return new MappingError(code, `${formatProblem(first)}${more}`, {
    context: {
      file: first.file,
      mapping: first.mapping,
      path: first.field,
      problems: problems.map(formatProblem),
    },
  });
}

/** The line of `field` in the mapping's file, or of its nearest enclosing field. */
export function lineOf(
  lines: ReadonlyMap<string, number>,
  field: string | undefined,
): number | undefined {
  let path = field ?? '';
  for (;;) {
    const line = lines.get(path);
    if (line !== undefined) return line;
    if (path === '') return undefined;
    const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    path = cut <= 0 ? '' : path.slice(0, cut);
  }
}

/** A problem located in a loaded mapping. */
export function problemAt(
  spec: {
    readonly file: string;
    readonly name: string;
    readonly lines: ReadonlyMap<string, number>;
  },
  level: MappingProblem['level'],
  code: string,
  field: string | undefined,
  message: string,
): MappingProblem {
  const line = lineOf(spec.lines, field);
  return Object.freeze({
    level,
    code,
    file: spec.file,
    mapping: spec.name,
    ...(field === undefined ? {} : { field }),
    message,
    ...(line === undefined ? {} : { line }),
  });
}
