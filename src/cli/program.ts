import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { addCommonOptions } from './common-options.js';
import { registerAudit } from './definitions/audit.js';
import { registerBackfill } from './definitions/backfill.js';
import { registerDeadLetters } from './definitions/dead-letters.js';
import { registerMappingsCheck } from './definitions/mappings-check.js';
import { registerMappingsScaffold } from './definitions/mappings-scaffold.js';
import { registerMigrate } from './definitions/migrate.js';
import { registerRun } from './definitions/run.js';
import { registerSetup } from './definitions/setup.js';
import { registerStatus } from './definitions/status.js';
import { registerTeardown } from './definitions/teardown.js';

function packageVersion(): string {
  const url = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

const overview = `millrace keeps MES staging tables (MySQL/MariaDB) in step with a CRM's PostgreSQL through \
logical replication: declarative YAML mappings, upserts with the replication offset checkpointed in \
the same transaction, resumable backfills and consistency audits.

Exit codes: 0 success (audit: consistent), 1 audit found differences,
            2 bad usage, configuration or mapping, 3 runtime failure.`;

/**
 * The command tree. Options shared by every command are declared once, on the root. Building it
 * loads only commander and the definitions: each action imports its own modules when it runs.
 */
export function buildProgram(): Command {
  const program = new Command('millrace')
    .description(overview)
    .version(packageVersion(), '-V, --version')
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .exitOverride();
  addCommonOptions(program);
  registerSetup(program);
  registerMigrate(program);
  registerMappingsCheck(program);
  registerMappingsScaffold(program);
  registerRun(program);
  registerBackfill(program);
  registerAudit(program);
  registerStatus(program);
  registerDeadLetters(program);
  registerTeardown(program);
  program.addHelpText(
    'after',
    `
Typical first run:
  millrace migrate                 # control + staging tables on the MES
  millrace help <command>          # what each command does, with examples`,
  );
  useOneLineErrors(program, 'millrace');
  return program;
}

/**
 * Commander's own errors (unknown command or option, missing argument) as one line in
 * millrace's voice, with the fix: "(Did you mean migrate?)" joins the line instead of a second one.
 * Applied to every command, nested ones included, once the tree is built.
 */
function useOneLineErrors(command: Command, path: string): void {
  command.exitOverride();
  command.configureOutput({
    outputError: (text, write) => {
      const message = text
        .replace(/^error: /, '')
        .trim()
        .replace(/\s*\n\s*/g, ' ');
      write(`millrace: ${message} (see '${path} --help')\n`);
    },
  });
  for (const sub of command.commands) useOneLineErrors(sub, `${path} ${sub.name()}`);
}
