import { type Command, Option } from 'commander';
import { lazyAction } from '../lazy-action.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .summary(
      'replicate continuously from the CRM to the MES, and back for to-crm mappings (the long-running service)',
    )
    .description(
      'Stream changes from the CRM through the mappings into the MES staging tables. Each batch of ' +
        'source transactions is written in one MySQL transaction together with its checkpoint, and ' +
        'only then acknowledged to PostgreSQL: a crash at any moment loses nothing and applies ' +
        'nothing twice. SIGTERM/SIGINT finish the current batch, checkpoint and exit 0. Outages of ' +
        'either database are retried with backoff once replication has started.',
    )
    .addOption(
      new Option(
        '--on-error <policy>',
        'a row the target cannot take: record it in millrace_dead_letters and go on, or stop',
      )
        .choices(['deadletter', 'stop'])
        .default('deadletter'),
    )
    .option(
      '--heartbeat <seconds>',
      'with no mapped change for this long, still advance the slot so an idle CRM never pins WAL',
      '30',
    )
    .option(
      '--backfill',
      'initial load in the same process: every mapping not yet backfilled is copied in-stream while replicating (see backfill)',
    )
    .option(
      '--standby',
      'when another run holds this slot, wait for its lock (a standby; /healthz 503 "standby") and take over within 10 s of its death, instead of exiting 3',
    )
    .addOption(
      new Option(
        '--direction <direction>',
        'which streams to run: CRM → MES (to-mes), MES → CRM (to-crm, mappings with `direction: to-crm`), or both; each has its own lock, checkpoint and restart loop',
      )
        .choices(['to-mes', 'to-crm', 'both'])
        .default('both'),
    )
    .addHelpText(
      'after',
      `
Examples:
  millrace setup && millrace run
  millrace setup && millrace run --backfill
  millrace run --on-error stop --metrics-port 9187
  millrace run --standby --metrics-port 9187      # on a second host: takes over when the active one dies
  millrace run --direction to-crm                 # only the return path (MES binlog → CRM)
  CRM_DATABASE_URL=postgres://millrace:…@crm:5432/crm MES_DATABASE_URL=mysql://millrace:…@mes:3306/mes millrace run`,
    )
    .action(lazyAction(async () => (await import('../commands/run.js')).executeRun));
}
