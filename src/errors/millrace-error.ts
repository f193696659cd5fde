import type { ErrorCode } from './error-codes.js';

/**
 * Every failure millrace reports on purpose is a MillraceError: a stable `code` that scripts and
 * tests can match, the exit code it maps to, and a message that names the cause and the fix.
 * `src/cli/exit.ts` is the one place that turns these into a line on stderr and an exit status.
 */

/** Exit statuses (README "Exit codes"). */
export const ExitCode = Object.freeze({
  ok: 0,
  differences: 1,
  usage: 2,
  runtime: 3,
});
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

type ErrorContext = Readonly<Record<string, unknown>>;

export abstract class MillraceError extends Error {
  abstract readonly exitCode: ExitCode;
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; context?: ErrorContext } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.context = Object.freeze({ ...options.context });
  }
}

/** Bad command line, option or environment variable. */
export class UsageError extends MillraceError {
  readonly exitCode = ExitCode.usage;
}

/** A configuration that cannot work: invalid options, a mapping the schemas refute, a table setup must refuse. */
export class ConfigError extends MillraceError {
  readonly exitCode = ExitCode.usage;
}

/** A mapping file that does not load or compile. `context.file`, `mapping` and `path` locate it. */
export class MappingError extends MillraceError {
  readonly exitCode = ExitCode.usage;
}

/** Something failed at run time: a database away, a permission missing, a slot in use, DDL drift. */
export class RuntimeFailure extends MillraceError {
  readonly exitCode = ExitCode.runtime;
}

/**
 * A value that cannot be converted into its target column. Not fatal by itself: the replicator
 * turns it into a dead letter (or a stop, with `--on-error stop`).
 */
export class ValueError extends MillraceError {
  readonly exitCode = ExitCode.runtime;
}

export function isMillraceError(error: unknown): error is MillraceError {
  return error instanceof MillraceError;
}

/** The message of any thrown value, for logs and wrapped errors. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
