import type { Command } from 'commander';
import { commandOptions } from '../../config/options.js';
import { addConfigOption } from '../common-options.js';

/** Adds `scaffold` to the `mappings` command (registered by registerMappingsCheck). */
export function registerMappingsScaffold(program: Command): void {
  const mappings = program.commands.find((command) => command.name() === 'mappings');
  if (!mappings) throw new Error('register the mappings command first');
  mappings.summary('validate mapping files, or scaffold them from the CRM schema');
  const scaffold = mappings
    .command('scaffold')
    .summary('write a mapping and a staging migration per CRM table, from the live schema')
    .description(
      'Read the named CRM tables from the live catalogs and write, per table, a mapping YAML under ' +
        '--out (default: the --mappings directory) copying every column, keyed by the primary key or ' +
        'the replica identity index, and a knex migration under --migrations creating the staging ' +
        'table, each column typed as millrace converts its source type exactly: numeric(p,s) as ' +
        'DECIMAL(p,s), timestamptz as DATETIME(6), uuid as CHAR(36), json/jsonb/arrays as JSON, enums ' +
        'as ENUM, varchar(n) as VARCHAR(n), text as LONGTEXT, bytea as LONGBLOB, other types as text. ' +
        'A partition is scaffolded through its partitioned root. Nothing is written when a file ' +
        'exists already (exit 2) unless --force.',
    )
    .argument('<tables...>', 'CRM tables as schema.table')
    .option('--prefix <prefix>', 'prefix of the staging table names', 'stg_')
    .option('--out <dir>', 'directory for the mapping files [default: the --mappings directory]');
  addConfigOption(scaffold, commandOptions.migrations)
    .option('--force', 'overwrite files that exist already')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  millrace mappings scaffold public.res_partner public.sale_order\n' +
        '  millrace mappings scaffold public.sale_order_line --prefix mes_ --out ./mappings --force\n' +
        '  millrace migrate && millrace mappings check --strict   # then review and adjust the files',
    )
    // Loaded when it runs, as lazyAction does for commands without arguments.
    .action(async (tables: string[], options: { prefix: string }, command: Command) => {
      const { executeMappingsScaffold } = await import('../commands/mappings-scaffold.js');
      await executeMappingsScaffold(tables, options, command);
    });
}
