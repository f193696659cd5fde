#!/usr/bin/env -S node --max-old-space-size=160
// The heap cap keeps V8 from letting garbage pile up to hundreds of megabytes between major
// collections while a large transaction streams through: millrace's live set is a few tens of
// megabytes by design (bounded queue, bounded batch), so RSS stays under 256 MB.
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
