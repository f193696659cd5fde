import { exitWhenDrained, runCommandLine } from './command-line.js';

exitWhenDrained(await runCommandLine(process.argv));
