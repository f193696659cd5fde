import { CommanderError } from 'commander';
import { redactText } from '../config/redact.js';
import { describeError, ExitCode, isMillraceError } from '../errors/millrace-error.js';

/**
 * The one place that turns a failure into one line on stderr and an exit status (README "Exit
 * codes"). Stack traces only when the user asked for debug logs.
 */
export function reportFailure(
  error: unknown,
  options: { debug: boolean; write: (line: string) => void },
): ExitCode {
  if (error instanceof CommanderError) {
    // Commander already printed its message (and help, for --help/--version).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')
      return ExitCode.ok;
    if (error.code === 'commander.help') return ExitCode.ok;
    return ExitCode.usage;
  }
  const exitCode = isMillraceError(error) ? error.exitCode : ExitCode.runtime;
  const prefix = isMillraceError(error) ? 'millrace' : 'millrace: unexpected error';
  const firstLine = redactText(describeError(error)).split('\n')[0];
  options.write(`${prefix}: ${firstLine}\n`);
  if (options.debug && error instanceof Error && error.stack) {
    options.write(`${redactText(error.stack)}\n`);
    if (error.cause instanceof Error && error.cause.stack)
      options.write(`caused by: ${redactText(error.cause.stack)}\n`);
  }
  return exitCode;
}
