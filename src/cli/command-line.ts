import type { Command } from 'commander';
import { reportFailure } from './exit.js';
import { buildProgram } from './program.js';
import { wantsDebug } from './wants-debug.js';

/** Runs one command line through the command tree and returns its exit status. */
export async function runCommandLine(
  argv: readonly string[],
  program: Command = buildProgram(),
): Promise<number> {
  if (argv.length <= 2) {
    program.outputHelp();
    return 2;
  }
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return reportFailure(error, {
      debug: wantsDebug(argv, process.env),
      write: (line) => process.stderr.write(line),
    });
  }
}

/** Ends the process with `exitCode` once pending stdout/stderr writes have drained. */
export function exitWhenDrained(exitCode: number): void {
  process.exitCode = exitCode;
  // Leave even if a driver keeps a handle open.
  setTimeout(() => process.exit(exitCode), 50).unref();
}
