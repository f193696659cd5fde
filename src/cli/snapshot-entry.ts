import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startupSnapshot } from 'node:v8';
import type { Command } from 'commander';
import { usePreloadedPino } from '../log/logger.js';
import { loadPg } from '../postgres/load-pg.js';
import { exitWhenDrained, runCommandLine } from './command-line.js';
import { buildProgram } from './program.js';

/**
 * The entry of millrace's startup snapshot (README "CLI start-up"), bundled into one script by
 * scripts/build-snapshot.mjs. Building the snapshot runs this file and keeps the heap it leaves:
 * commander, the drivers, yaml, zod, pino and the modules of the commands below (with
 * cli-progress and pg-copy-streams, which backfill loads), loaded and initialised, so those
 * commands start without compiling or evaluating any of them. Every other command is handed to
 * the plain entry (main.js), exactly as if it had been started: `run` above all, which needs all
 * of its heap cap for the stream and gains nothing from the reading commands' modules.
 */
const served = new Set(['status', 'mappings check', 'audit', 'backfill']);

const plainEntry = new URL('./main.js', import.meta.url).href;

// Loaded now, while the snapshot is built. Nothing here may open a handle or read the
// environment, the terminal or the clock into module state: that would be frozen into the blob.
// cli-progress and the logger look at the terminal (isTTY, CI) when a command starts, not as
// they load; pino-pretty, which reads the terminal's colours as it loads, stays out and loads at
// the first line written on a terminal, as from main.js.
const preloaded = Promise.all([
  import('./commands/status.js'),
  import('./commands/mappings-check.js'),
  import('./commands/audit.js'),
  import('./commands/backfill.js'),
  loadPg(),
  import('pino').then((pino) => usePreloadedPino(pino.pino)),
]);

startupSnapshot.setDeserializeMainFunction(() => {
  void startRestored();
});

async function startRestored(): Promise<void> {
  await preloaded;
  // As the plain entry sees them: `node main.js <args>`, without the snapshot's flags.
  process.argv = [process.execPath, fileURLToPath(plainEntry), ...process.argv.slice(1)];
  process.execArgv = withoutSnapshotFlags(process.execArgv);
  // The one default a preloaded package read from the environment as it loaded (pg, for a URL
  // without a user). The rest read it when called; bin/millrace falls back to main.js under the
  // variables they read at load (NODE_OPTIONS, NODE_DEBUG, NODE_PG_FORCE_NATIVE).
  (await loadPg()).defaults.user =
    process.platform === 'win32' ? process.env.USERNAME : process.env.USER;
  const program = buildProgram();
  let handOver = false;
  forEachCommand(program, '', (command, path) => {
    if (command.commands.length === 0 && !served.has(path))
      command.action(() => {
        handOver = true;
      });
  });
  const exitCode = await runCommandLine(process.argv, program);
  if (!handOver) return exitWhenDrained(exitCode);
  const importModule = createRequire(import.meta.url)('./import-module.cjs') as (
    specifier: string,
  ) => Promise<unknown>;
  await importModule(plainEntry);
}

function forEachCommand(
  command: Command,
  path: string,
  visit: (command: Command, path: string) => void,
): void {
  for (const sub of command.commands) {
    const subPath = path ? `${path} ${sub.name()}` : sub.name();
    visit(sub, subPath);
    forEachCommand(sub, subPath, visit);
  }
}

function withoutSnapshotFlags(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (arg === '--snapshot-blob') i++;
    else if (!arg.startsWith('--snapshot-blob=')) kept.push(arg);
  }
  return kept;
}
