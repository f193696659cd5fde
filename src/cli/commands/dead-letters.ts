import type { Command } from 'commander';
import { streamRepairChannel } from '../../audit/stream-repair.js';
import { claimBackfillRole } from '../../backfill/backfill-lock.js';
import {
  letterKeyText,
  type ReplayCounts,
  replayLetters,
  replayLettersInStream,
} from '../../backfill/replay-dead-letters.js';
import { retryCrmLetters } from '../../backfill/to-crm/retry-crm-letters.js';
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
import type { PgClient } from '../../postgres/pg-client.js';
import {
  countCrmLetters,
  discardCrmLetters,
  forEachCrmLetterPage,
} from '../../postgres/sink/crm-dead-letters.js';
import { withReleasers } from '../../util/releasers.js';
import { holdSource, holdTarget } from '../command-connections.js';
import { type CommandContext, createContext } from '../context.js';
import { parseLetterIds, parseMoment } from '../flags.js';
import { type LetterIds, type LetterSide, letterRef, letterSides } from '../letter-ids.js';
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

type Releasers = Parameters<typeof holdSource>[0];

/** The names of the to-crm mappings: their letters are in the CRM's millrace.dead_letters. */
function returnMappingNames(context: CommandContext): ReadonlySet<string> {
  try {
    const specs = readMappings(context.config.mappingsDir).specs;
    return new Set(specs.filter((spec) => spec.direction === 'to-crm').map((spec) => spec.name));
  } catch {
    return new Set();
  }
}

/** Where letters are kept: the MES's table (to-mes mappings) or the CRM's (to-crm mappings). */
interface LetterStore {
  readonly side: LetterSide;
  forEachPage(
    filter: DeadLetterFilter,
    pageSize: number,
    onPage: (letters: readonly StoredLetter[]) => Promise<void>,
  ): Promise<void>;
  count(filter: DeadLetterFilter): Promise<Map<string, number>>;
  discard(filter: DeadLetterFilter): Promise<number>;
}

/** Each table's filter for a selection; a table the selection does not reach is left out. */
type SideFilters = Partial<Record<LetterSide, DeadLetterFilter>>;

/**
 * The tables a selection reaches: the MES's for to-mes mappings (and names no mapping matches,
 * as before), the CRM's for to-crm mappings; with no --table, the MES's and, when to-crm
 * mappings exist, the CRM's.
 */
function sideFilters(
  context: CommandContext,
  tables: readonly string[],
  base: DeadLetterFilter,
): SideFilters {
  const names = mappingNames(context, tables);
  const returning = returnMappingNames(context);
  const forward = names?.filter((name) => !returning.has(name));
  const back = names === undefined ? [...returning] : names.filter((name) => returning.has(name));
  return {
    ...(forward === undefined || forward.length > 0 ? { mes: withMappings(base, forward) } : {}),
    ...(back.length > 0 ? { crm: withMappings(base, back) } : {}),
  };
}

async function openStore(
  context: CommandContext,
  releasers: Releasers,
  side: LetterSide,
): Promise<LetterStore> {
  return side === 'mes'
    ? mesStore(await holdTarget(releasers, context))
    : crmStore(await holdSource(releasers, context, 'dead-letters'));
}

/** The stores a selection reaches, each with its filter. */
async function selectStores(
  context: CommandContext,
  releasers: Releasers,
  tables: readonly string[],
  base: DeadLetterFilter,
): Promise<{ readonly store: LetterStore; readonly filter: DeadLetterFilter }[]> {
  const filters = sideFilters(context, tables, base);
  const stores = [];
  for (const side of letterSides) {
    const filter = filters[side];
    if (filter !== undefined)
      stores.push({ store: await openStore(context, releasers, side), filter });
  }
  return stores;
}

function mesStore(connection: MysqlConnection): LetterStore {
  return {
    side: 'mes',
    forEachPage: (filter, size, onPage) => forEachLetterPage(connection, filter, size, onPage),
    count: (filter) => countLetters(connection, filter),
    discard: (filter) => discardLetters(connection, filter),
  };
}

function crmStore(client: PgClient): LetterStore {
  return {
    side: 'crm',
    forEachPage: (filter, size, onPage) => forEachCrmLetterPage(client, filter, size, onPage),
    count: (filter) => countCrmLetters(client, filter),
    discard: (filter) => discardCrmLetters(client, filter),
  };
}

/** A letter with its id as `retry --id` takes it (`crm:` before the CRM's). */
type ListedLetter = StoredLetter & { readonly ref: string };

function formatLetter(letter: ListedLetter): string {
  const at = letter.lsn === null ? '' : ` at ${letter.lsn}`;
  return `#${letter.ref} ${letter.createdAt} ${letter.mapping} ${letter.operation}${at} key ${letterKeyText(letter)}: ${letter.error}`;
}

export async function executeDeadLettersList(flags: ListFlags, command: Command): Promise<void> {
  const context = createContext(command);
  await withReleasers(async (releasers) => {
    const letters: ListedLetter[] = [];
    const counts = new Map<string, number>();
    for (const { store, filter } of await selectStores(context, releasers, flags.table, {})) {
      await store.forEachPage(filter, 5_000, async (page) => {
        letters.push(
          ...page.map((letter) => ({ ...letter, ref: letterRef(store.side, letter.id) })),
        );
      });
      for (const [mapping, count] of await store.count(filter)) counts.set(mapping, count);
    }
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

type ReplayMapping = (
  mapping: CompiledMapping,
  letters: readonly StoredLetter[],
) => Promise<ReplayCounts>;

/** Replays the selected letters page by page; letters of unknown mappings are skipped. */
async function replayAll(
  store: LetterStore,
  filter: DeadLetterFilter,
  mappings: readonly CompiledMapping[],
  replay: ReplayMapping,
): Promise<ReplayCounts> {
  // Read first, replayed after: a letter recorded again gets a new id, which must not come round.
  const pages: (readonly StoredLetter[])[] = [];
  await store.forEachPage(filter, pageSize, async (page) => {
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
  const ids = parseLetterIds('--id', flags.id);
  const context = createContext(command);
  const filters = sideFilters(context, flags.table, {});
  const chosen = ids === undefined ? filters : await pickLetters(context, filters, ids);
  let left = 0;
  if (chosen.mes !== undefined) left += await retryForward(context, chosen.mes);
  if (chosen.crm !== undefined) left += await retryReturn(context, chosen.crm);
  if (left > 0) process.exitCode = ExitCode.differences;
}

/**
 * The selected tables narrowed to the letters --id names, each looked up first: a table that
 * holds none of them is left alone (the MES's is not locked for nothing), and a bare id both
 * tables hold is refused rather than replayed twice.
 */
async function pickLetters(
  context: CommandContext,
  filters: SideFilters,
  ids: LetterIds,
): Promise<SideFilters> {
  const found = await withReleasers(async (releasers) => {
    const held: Record<LetterSide, number[]> = { mes: [], crm: [] };
    for (const side of letterSides) {
      const filter = filters[side];
      const wanted = [...ids.pinned[side], ...ids.bare];
      if (filter === undefined || wanted.length === 0) continue;
      const store = await openStore(context, releasers, side);
      await store.forEachPage({ ...filter, ids: wanted }, pageSize, async (page) => {
        held[side].push(...page.map((letter) => letter.id));
      });
    }
    return held;
  });
  const ambiguous = ids.bare.filter((id) => found.mes.includes(id) && found.crm.includes(id));
  if (ambiguous.length > 0) {
    throw new UsageError(
      'LETTER_ID_AMBIGUOUS',
      `ambiguous --id ${ambiguous.join(', ')}: both the MES's millrace_dead_letters and the CRM's millrace.dead_letters hold a letter with that id; name the table, as in --id mes:${ambiguous[0]} or --id crm:${ambiguous[0]} (dead-letters list prints the CRM's as #crm:N)`,
    );
  }
  const missing = [
    ...letterSides.flatMap((side) =>
      ids.pinned[side].filter((id) => !found[side].includes(id)).map((id) => `${side}:${id}`),
    ),
    ...ids.bare.filter((id) => !found.mes.includes(id) && !found.crm.includes(id)).map(String),
  ];
  if (missing.length > 0)
    context.print(
      `no dead letter ${missing.join(', ')} in the selection (already replayed or discarded?)`,
    );
  const picked: SideFilters = {};
  for (const side of letterSides)
    if (found[side].length > 0) picked[side] = { ...filters[side], ids: found[side] };
  return picked;
}

/** The MES's letters (to-mes mappings); returns how many are left behind. */
async function retryForward(context: CommandContext, filter: DeadLetterFilter): Promise<number> {
  const { config, print } = context;
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
    const mappings = await compileLiveMappings(config, context.logger);
    return { counts: await replayAll(mesStore(control), filter, mappings, replay), role };
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
  return counts.failed + counts.skipped;
}

/**
 * The CRM's letters (to-crm mappings), re-read from the MES under the return stream's checkpoint
 * guard, so no lock is needed beside a running `run`; returns how many are left behind.
 */
async function retryReturn(context: CommandContext, filter: DeadLetterFilter): Promise<number> {
  const { config, logger } = context;
  const counts = await withReleasers(async (releasers) => {
    const crm = await holdSource(releasers, context, 'dead-letters retry');
    const mes = await holdTarget(releasers, context);
    const mappings = await compileLiveMappings(config, logger, 'to-crm');
    const options = { mes, crm, stream: config.slot, logger };
    return replayAll(crmStore(crm), filter, mappings, (mapping, letters) =>
      retryCrmLetters(options, mapping, letters),
    );
  });
  context.print(
    `return path (CRM): ${counts.replayed} replayed and deleted, ${counts.failed} failed again (kept with the new error), ${counts.skipped} skipped (no such mapping or key)`,
  );
  return counts.failed + counts.skipped;
}

export async function executeDeadLettersDiscard(
  flags: DiscardFlags,
  command: Command,
): Promise<void> {
  const before = flags.before === undefined ? undefined : parseMoment('--before', flags.before);
  const context = createContext(command);
  const base: DeadLetterFilter = before ? { before } : {};
  await withReleasers(async (releasers) => {
    const stores = await selectStores(context, releasers, flags.table, base);
    if (flags.yes !== true) {
      let total = 0;
      for (const { store, filter } of stores)
        for (const count of (await store.count(filter)).values()) total += count;
      throw new UsageError(
        'CONFIRMATION_REQUIRED',
        `discard deletes nothing without --yes: ${total} dead letter${total === 1 ? '' : 's'} would be deleted; add --yes to delete them`,
      );
    }
    let deleted = 0;
    for (const { store, filter } of stores) deleted += await store.discard(filter);
    context.print(`discarded ${deleted} dead letter${deleted === 1 ? '' : 's'}`);
  });
}
