import type { Command } from 'commander';
import { streamRepairChannel } from '../../audit/stream-repair.js';
import { claimBackfillRole } from '../../backfill/backfill-lock.js';
import {
  letterKeyText,
  type ReplayCounts,
  replayLetters,
  replayLettersInStream,
} from '../../backfill/replay-dead-letters.js';
import { ExitCode, UsageError } from '../../errors/millrace-error.js';
import type { CompiledMapping } from '../../mapping/compiled-mapping.js';
import { readMappings } from '../../mapping/load-mappings.js';
import { selectMappings } from '../../mapping/mapping-index.js';
import {
  countLetters,
  discardLetters,
  forEachLetterPage,
  type StoredLetter,
} from '../../mysql/dead-letters.js';
import { introspectTarget } from '../../mysql/introspect.js';
import { type MysqlConnection, parseTargetUrl } from '../../mysql/mysql-client.js';
import type { DeadLetterFilter } from '../../mysql/sql/dead-letter-filter.js';
import { TargetWriter } from '../../mysql/writer.js';
import { withReleasers } from '../../util/releasers.js';
import { holdSource, holdTarget } from '../command-connections.js';
import { type CommandContext, createContext } from '../context.js';
import { parseIds, parseMoment } from '../flags.js';
import { compileLiveMappings } from '../live-mappings.js';

/** Letters read, and replayed, per page: one target transaction (or one in-stream request) each. */
const pageSize = 500;

/** How long a running replicator may take to apply one page of keys before retry gives up. */
const inStreamTimeoutMs = 60_000;

interface ListFlags {
  readonly table: string[];
  readonly json?: boolean;
}

interface RetryFlags {
  readonly table: string[];
  readonly id: string[];
}

interface DiscardFlags {
  readonly table: string[];
  readonly before?: string;
  readonly yes?: boolean;
}

/**
 * `--table NAME…` as mapping names: a name matches a mapping's name, source or target table, as
 * everywhere; a name no current mapping matches is taken as the name of a mapping since removed,
 * whose letters may still be there. No names: every mapping.
 */
function mappingNames(context: CommandContext, tables: readonly string[]): string[] | undefined {
  if (tables.length === 0) return undefined;
  let specs: readonly { name: string; sourceKey: string; target: string }[] = [];
  try {
    specs = readMappings(context.config.mappingsDir).specs;
  } catch {
    // No mappings directory: the names can only be mapping names.
  }
  return [
    ...new Set(
      tables.flatMap((name) => {
        try {
          return selectMappings(specs, [name]).map((spec) => spec.name);
        } catch {
          return [name];
        }
      }),
    ),
  ];
}

function withMappings(filter: DeadLetterFilter, names: string[] | undefined): DeadLetterFilter {
  return names === undefined ? filter : { ...filter, mappings: names };
}

function formatLetter(letter: StoredLetter): string {
  const at = letter.lsn === null ? '' : ` at ${letter.lsn}`;
  return `#${letter.id} ${letter.createdAt} ${letter.mapping} ${letter.operation}${at} key ${letterKeyText(letter)}: ${letter.error}`;
}

export async function executeDeadLettersList(flags: ListFlags, command: Command): Promise<void> {
  const context = createContext(command);
  const filter = withMappings({}, mappingNames(context, flags.table));
  await withReleasers(async (releasers) => {
    const connection = await holdTarget(releasers, context);
    const letters: StoredLetter[] = [];
    await forEachLetterPage(connection, filter, 5_000, async (page) => {
      letters.push(...page);
    });
    const counts = await countLetters(connection, filter);
    if (flags.json === true) {
      context.print(
        JSON.stringify(
          { total: letters.length, counts: Object.fromEntries(counts), letters },
          null,
          2,
        ),
      );
      return;
    }
    const lines = letters.map(formatLetter);
    for (const [mapping, count] of counts)
      lines.push(`${mapping}: ${count} dead letter${count === 1 ? '' : 's'}`);
    lines.push(`${letters.length} dead letter${letters.length === 1 ? '' : 's'}`);
    context.print(lines.join('\n'));
  });
}

type Releasers = Parameters<typeof holdSource>[0];
type ReplayMapping = (
  mapping: CompiledMapping,
  letters: readonly StoredLetter[],
) => Promise<ReplayCounts>;

/** Replays the selected letters page by page; letters of unknown mappings are skipped. */
async function replayAll(
  context: CommandContext,
  filter: DeadLetterFilter,
  control: MysqlConnection,
  replay: ReplayMapping,
): Promise<ReplayCounts> {
  const mappings = await compileLiveMappings(context.config, context.logger);
  // Read first, replayed after: a letter recorded again gets a new id, which must not come round.
  const pages: (readonly StoredLetter[])[] = [];
  await forEachLetterPage(control, filter, pageSize, async (page) => {
    pages.push(page);
  });
  const total = { replayed: 0, failed: 0, skipped: 0 };
  for (const page of pages) {
    for (const name of new Set(page.map((letter) => letter.mapping))) {
      const letters = page.filter((letter) => letter.mapping === name);
      const mapping = mappings.find((candidate) => candidate.name === name);
      const counts = mapping
        ? await replay(mapping, letters)
        : { replayed: 0, failed: 0, skipped: letters.length };
      total.replayed += counts.replayed;
      total.failed += counts.failed;
      total.skipped += counts.skipped;
    }
  }
  return total;
}

/** No replicator: this session holds its lock and writes the rows itself, as a backfill does. */
async function offlineReplay(
  context: CommandContext,
  releasers: Releasers,
): Promise<ReplayMapping> {
  const source = await holdSource(releasers, context, 'dead-letters retry');
  let refused = 0;
  const writer = new TargetWriter({
    connection: await holdTarget(releasers, context),
    logger: context.logger,
    onBadRow: 'deadletter',
    onDeadLetter: () => {
      refused++;
    },
  });
  return (mapping, letters) =>
    replayLetters({ source, writer, refusals: () => refused }, mapping, letters);
}

/** MySQL binary types: a key value of such a column is spelled `\x…` hex in a letter. */
const binaryTypes = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

/** A replicator runs: the letters' keys go through its stream, as `audit --repair` sends them. */
function inStreamReplay(context: CommandContext, control: MysqlConnection): ReplayMapping {
  const channel = streamRepairChannel({
    connection: control,
    slot: context.config.slot,
    timeoutMs: inStreamTimeoutMs,
    command: 'dead-letters retry',
  });
  return async (mapping, letters) => {
    const table = (await introspectTarget(control, [mapping.target])).get(mapping.target);
    const binary = new Set(
      [...(table?.columns.values() ?? [])]
        .filter((column) => binaryTypes.has(column.dataType))
        .map((column) => column.name),
    );
    return replayLettersInStream({ channel, control, binary }, mapping, letters);
  };
}

export async function executeDeadLettersRetry(flags: RetryFlags, command: Command): Promise<void> {
  const ids = parseIds('--id', flags.id);
  const context = createContext(command);
  const { config, print } = context;
  const names = mappingNames(context, flags.table);
  const filter = withMappings(ids.length > 0 ? { ids } : {}, names);
  const { counts, role } = await withReleasers(async (releasers) => {
    // The replicator's lock, as an offline backfill takes it: `run` cannot start meanwhile.
    const locks = await holdTarget(releasers, context);
    const database = parseTargetUrl(config.targetUrl).database;
    const role = await claimBackfillRole(locks, database, config.slot);
    const control = await holdTarget(releasers, context);
    const replay =
      role === 'online'
        ? inStreamReplay(context, control)
        : await offlineReplay(context, releasers);
    return { counts: await replayAll(context, filter, control, replay), role };
  });
  if (role === 'online') {
    print(
      `through the running replicator on slot '${config.slot}': ${counts.replayed} replayed and deleted, ${counts.failed} failed again (recorded anew by the replicator with the new error), ${counts.skipped} skipped (no such mapping or key)`,
    );
    if (counts.failed > 0)
      print(
        'the replicator converts rows with the column types it read when it started: after widening a column or changing a mapping, restart run, then retry',
      );
  } else {
    print(
      `${counts.replayed} replayed and deleted, ${counts.failed} failed again (kept with the new error), ${counts.skipped} skipped (no such mapping or key)`,
    );
  }
  if (counts.failed + counts.skipped > 0) process.exitCode = ExitCode.differences;
}

export async function executeDeadLettersDiscard(
  flags: DiscardFlags,
  command: Command,
): Promise<void> {
  const before = flags.before === undefined ? undefined : parseMoment('--before', flags.before);
  const context = createContext(command);
  const filter = withMappings(before ? { before } : {}, mappingNames(context, flags.table));
  await withReleasers(async (releasers) => {
    const connection = await holdTarget(releasers, context);
    if (flags.yes !== true) {
      const counts = await countLetters(connection, filter);
      const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
      throw new UsageError(
        'CONFIRMATION_REQUIRED',
        `discard deletes nothing without --yes: ${total} dead letter${total === 1 ? '' : 's'} would be deleted; add --yes to delete them`,
      );
    }
    const deleted = await discardLetters(connection, filter);
    context.print(`discarded ${deleted} dead letter${deleted === 1 ? '' : 's'}`);
  });
}
