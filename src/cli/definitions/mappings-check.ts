import type { Command } from 'commander';
import { lazyAction } from '../lazy-action.js';

export function registerMappingsCheck(program: Command): void {
  const mappings = program
    .command('mappings')
    .summary('validate mapping files')
    .description(
      'Work with the mapping files (YAML, one mapping or a list per file) under --mappings.',
    );
  mappings
    .command('check')
    .summary('validate mappings/ against both live schemas')
    .description(
      'Load every mapping (*.yaml, *.yml) and prove it against the live CRM and MES schemas: tables and ' +
        "columns exist, the key is unique on the target and carried by the source's replica identity, " +
        'soft-delete and metadata columns fit, value types are compatible. One line per mapping, then ' +
        'each problem as `file: mapping: field: problem`.\n\n' +
        'Exit status: 0 no errors (warnings are printed), 2 errors (or warnings with --strict), ' +
        '3 a database is unreachable.',
    )
    .option('--strict', 'fail (exit 2) on warnings too')
    .option('--json', 'print one JSON object for scripts instead of text')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  millrace mappings check\n' +
        '  millrace mappings check --strict --mappings ./mappings   # in CI: warnings fail the build\n' +
        '  millrace mappings check --json | jq \'.mappings[] | select(.status != "ok")\'',
    )
    .exitOverride()
    .action(
      lazyAction(async () => (await import('../commands/mappings-check.js')).executeMappingsCheck),
    );
}
