import { reportFailure } from './exit.js';
import { buildProgram } from './program.js';
import { wantsDebug } from './wants-debug.js';

async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
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

const exitCode = await main(process.argv);
// Let pending stdout/stderr writes drain, then leave even if a driver keeps a handle open.
process.exitCode = exitCode;
setTimeout(() => process.exit(exitCode), 50).unref();
