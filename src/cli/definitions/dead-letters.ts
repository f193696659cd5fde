import type { Command } from 'commander';
import { lazyAction } from '../lazy-action.js';

const collect = (value: string, previous: string[]) => [...previous, value];

function tableOption(command: Command): Command {
  return command.option(
    '--table <name>',
    'only letters of this mapping: its name, source table or target table (repeatable)',
    collect,
    [] as string[],
  );
}

export function registerDeadLetters(program: Command): void {
  const letters = program
    .command('dead-letters')
    .summary('list, replay or discard the rows in millrace_dead_letters')
    .description(
      'Rows the MES refused (a value that does not fit, a row too large) are kept in ' +
        'millrace_dead_letters with their key and error while the stream goes on. Once the cause is ' +
        'fixed (a column widened, a mapping corrected), `retry` replays them; `discard` drops them. ' +
        "Rows the CRM refused for to-crm mappings are in the CRM's millrace.dead_letters, reached " +
        'the same way (their retry re-reads the MES rows and needs no lock).',
    );
  tableOption(
    letters
      .command('list')
      .summary('each letter (mapping, key, operation, error, when) and a count per mapping'),
  )
    .option('--json', 'print one JSON object for scripts instead of text')
    .addHelpText(
      'after',
      '\nExamples:\n  millrace dead-letters list\n  millrace dead-letters list --table production_orders --json',
    )
    .action(
      lazyAction(async () => (await import('../commands/dead-letters.js')).executeDeadLettersList),
    );
  tableOption(
    letters
      .command('retry')
      .summary("re-read each letter's source row by key and apply it; replayed letters are deleted")
      .description(
        "Reads each selected letter's current source row again by its key and writes it through the " +
          'mapping as a backfill does (or removes the target row when the source row is gone or left ' +
          'the filter), deleting the letters in the same transaction. A row refused again is kept as a ' +
          'letter with the new error. Without a replicator it writes the rows itself; with `run` ' +
          "active it hands the keys to the replicator, which applies them in its stream's order.\n\n" +
          'Exit status: 0 every letter replayed, 1 letters left behind, 2 a bad or ambiguous --id, ' +
          '3 the running replicator did not apply the keys in time.',
      ),
  )
    .option(
      '--id <id>',
      "only this letter, its id as list prints it: 17, or crm:17 for a to-crm mapping's letter in the CRM (repeatable; a bare id both tables hold is refused: give mes:17 or crm:17)",
      collect,
      [] as string[],
    )
    .addHelpText(
      'after',
      '\nExamples:\n  millrace dead-letters retry\n  millrace dead-letters retry --table stg_material --id 17 --id 18\n  millrace dead-letters retry --id crm:4',
    )
    .action(
      lazyAction(async () => (await import('../commands/dead-letters.js')).executeDeadLettersRetry),
    );
  tableOption(letters.command('discard').summary('delete dead letters (needs --yes)'))
    .option(
      '--before <time>',
      'only letters recorded before this time (ISO 8601; UTC when no offset)',
    )
    .option('--yes', 'really delete them')
    .addHelpText(
      'after',
      '\nExamples:\n  millrace dead-letters discard --yes --table stg_material\n  millrace dead-letters discard --yes --before 2024-05-01',
    )
    .action(
      lazyAction(
        async () => (await import('../commands/dead-letters.js')).executeDeadLettersDiscard,
      ),
    );
}
