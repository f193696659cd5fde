import type { Command } from 'commander';
import { reportFailure } from './exit.js';
import { buildProgram } from './program.js';
import { wantsDebug } from './wants-debug.js';

/** Runs one command line through the command tree and returns its exit status. */
export async function runCommandLine(
  argv: readonly string[],
  program: Command = buildProgram(),
): Promise<number> {
  endQuietlyWhenStdoutCloses();
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

/**
 * `millrace status | head`: once the reader is gone nothing more can be shown, so the process ends
 * as a Unix tool killed by SIGPIPE would, quietly (Node ignores SIGPIPE and reports EPIPE instead).
 * Whatever was committed stays committed; `run` resumes from its checkpoint on the next start.
 */
function endQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
}
