import { randomUUID } from 'node:crypto';
import { ConfigError, RuntimeFailure } from '../errors/millrace-error.js';
import type { Logger } from '../log/logger.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import {
  connectTarget,
  type MysqlConnection,
  parseTargetUrl,
  quoteMysqlIdent,
} from '../mysql/mysql-client.js';
import { TargetWriter } from '../mysql/writer.js';
import { connectSource, type PgClient } from '../postgres/pg-client.js';
import { type Releasers, withReleasers } from '../util/releasers.js';
import { sleep } from '../util/sleep.js';
import { claimBackfillRole, replicatorActive } from './backfill-lock.js';
import type { BackfillSummary, ProgressView } from './backfill-progress.js';
import {
  type BackfillState,
  countersOf,
  execute,
  type NewRun,
  newRunStatement,
  readBackfills,
  resumeRunStatement,
  startsOver,
} from './backfill-store.js';
import { type BackfillProgress, backfillOffline } from './offline-backfill.js';
import { planMapping } from './plan-mapping.js';
import { currentWalLsn, estimateRows } from './source-reader.js';

/** What `millrace backfill` asks of either direction's backfill. */
export interface BackfillRequest {
  /** The mappings to backfill (`--table`), in order. */
  readonly selected: readonly CompiledMapping[];
  /** Source rows per chunk; each chunk is one target transaction. */
  readonly chunkSize: number;
  /** Start over instead of resuming an interrupted backfill. */
  readonly restart: boolean;
  readonly logger: Logger;
  readonly view: ProgressView;
  /** Aborting stops after the chunk being written commits (offline) or stops following (online). */
  readonly signal: AbortSignal;
}

interface BackfillCommandOptions extends BackfillRequest {
  readonly sourceUrl: string;
  readonly targetUrl: string;
  readonly slot: string;
  /** Start-up connect timeout, in milliseconds. */
  readonly connectTimeoutMs: number;
  /** Every compiled mapping: a target row is stale only when no mapping of its table produces it. */
  readonly mappings: readonly CompiledMapping[];
  /** How often an online backfill's progress is read back, in milliseconds. */
  readonly followIntervalMs?: number;
}

/**
 * `millrace backfill`. With no replicator on the slot it copies itself (offline), holding the
 * replicator's lock meanwhile; with one running it records requests that the replicator performs
 * in-stream between watermarks (online), and follows their progress until they are done.
 */
export async function runBackfill(
  options: BackfillCommandOptions,
): Promise<readonly BackfillSummary[]> {
  // The control session holds the locks for as long as the command runs.
  return withControlSession(options, async (control, releasers) => {
    const catalog = releasers.hold(
      await connectSource({
        url: options.sourceUrl,
        timeoutMs: options.connectTimeoutMs,
        logger: options.logger,
        applicationName: 'millrace backfill',
      }),
      (client) => client.end(),
    );
    const database = parseTargetUrl(options.targetUrl).database;
    const role = await claimBackfillRole(control, database, options.slot);
    if (role === 'offline') {
      const writerConnection = await connectTargetSession(options, releasers, true);
      return await backfillAllOffline(options, control, catalog, writerConnection);
    }
    options.logger.info(
      { slot: options.slot },
      'a replicator is running on this slot: it performs the backfill in-stream; following its progress',
    );
    return await followOnline(options, control, catalog, database);
  });
}

/**
 * Runs `body` with a session on the target whose control tables are checked; the session and
 * whatever `body` holds are released when it ends.
 */
function withControlSession<T>(
  options: Pick<BackfillCommandOptions, 'targetUrl' | 'connectTimeoutMs' | 'logger'>,
  body: (control: MysqlConnection, releasers: Releasers) => Promise<T>,
): Promise<T> {
  return withReleasers(async (releasers) => {
    const control = await connectTargetSession(options, releasers);
    await checkControlTables(control);
    return await body(control, releasers);
  });
}

/** A session on the target, ended with the command; the writer's sends multi-statement packets. */
async function connectTargetSession(
  options: Pick<BackfillCommandOptions, 'targetUrl' | 'connectTimeoutMs' | 'logger'>,
  releasers: Releasers,
  forWriter = false,
): Promise<MysqlConnection> {
  const connection = await connectTarget({
    url: options.targetUrl,
    timeoutMs: options.connectTimeoutMs,
    logger: options.logger,
    multipleStatements: forWriter,
  });
  return releasers.hold(connection, (held) => held.end());
}

async function checkControlTables(connection: MysqlConnection): Promise<void> {
  const [rows] = await connection.query(
    `SELECT COUNT(*) AS n FROM information_schema.columns
      WHERE table_schema = DATABASE() AND table_name = 'millrace_backfills' AND column_name = 'run_id'`,
  );
  if (Number((rows as { n: unknown }[])[0]?.n) === 0) {
    throw new ConfigError(
      'CONTROL_TABLES_MISSING',
      'millrace_backfills is missing or older than this millrace on the MES: run millrace migrate first',
    );
  }
}

/** Whether the target table holds any row: only then can a backfill leave stale rows to remove. */
async function targetHasRows(connection: MysqlConnection, table: string): Promise<boolean> {
  const [rows] = await connection.query(
    `SELECT 1 AS present FROM ${quoteMysqlIdent(table)} LIMIT 1`,
  );
  return (rows as unknown[]).length > 0;
}

function progressOf(state: BackfillState): BackfillProgress {
  return {
    mapping: state.mapping,
    phase: state.phase,
    counters: countersOf(state),
    rowsTotal: state.rowsTotal,
  };
}

async function stateOf(connection: MysqlConnection, mapping: string): Promise<BackfillState> {
  const state = (await readBackfills(connection, [mapping])).get(mapping);
  if (!state)
    throw new RuntimeFailure('BACKFILL_STATE', `the backfill row of mapping ${mapping} vanished`);
  return state;
}

/** Records a fresh run of `mapping`, replacing any earlier one. */
async function recordNewRun(
  control: MysqlConnection,
  mapping: CompiledMapping,
  run: Omit<NewRun, 'mapping' | 'runId' | 'prune'>,
): Promise<void> {
  const prune = await targetHasRows(control, mapping.target);
  await execute(
    control,
    newRunStatement({ mapping: mapping.name, runId: randomUUID(), prune, ...run }),
  );
}

/** Whether an interrupted run is handed (back) to the replicator: it failed, or ran offline. */
function needsRequest(previous: BackfillState): boolean {
  return (
    previous.status === 'failed' || (previous.status === 'running' && previous.mode !== 'online')
  );
}

/** Seconds since `started` (a performance.now() reading). */
export function secondsSince(started: number): number {
  return (performance.now() - started) / 1000;
}

/** What a finished run did, for the closing table; the rate counts this command's rows only. */
function summaryOf(
  state: BackfillState,
  mode: BackfillSummary['mode'],
  seconds: number,
  copiedBefore: number,
): BackfillSummary {
  return {
    mapping: state.mapping,
    mode,
    rowsCopied: state.rowsCopied,
    deadLetters: state.deadLetters,
    rowsRemoved: state.rowsRemoved,
    seconds,
    rowsPerSecond: seconds > 0 ? (state.rowsCopied - copiedBefore) / seconds : 0,
  };
}

/** Without the slot, changes made between this copy and `setup` would never reach the target. */
async function warnWithoutSlot(options: BackfillCommandOptions, catalog: PgClient): Promise<void> {
  const { rows: slots } = await catalog.query(
    'select 1 from pg_replication_slots where slot_name = $1 and database = current_database()',
    [options.slot],
  );
  if (slots.length === 0) {
    options.logger.warn(
      { slot: options.slot },
      'the replication slot does not exist yet: run millrace setup before backfill, so that run replays every change made since the copy began',
    );
  }
}

async function backfillAllOffline(
  options: BackfillCommandOptions,
  control: MysqlConnection,
  catalog: PgClient,
  writerConnection: MysqlConnection,
): Promise<readonly BackfillSummary[]> {
  await warnWithoutSlot(options, catalog);
  const writer = new TargetWriter({
    connection: writerConnection,
    logger: options.logger.child({ component: 'writer' }),
    onBadRow: 'deadletter',
  });
  const summaries: BackfillSummary[] = [];
  const existing = await readBackfills(
    control,
    options.selected.map((mapping) => mapping.name),
  );
  for (const mapping of options.selected) {
    if (options.signal.aborted) throw interrupted(mapping.name, undefined);
    const plan = await planMapping(catalog, mapping, options.mappings);
    await startOffline(options, control, catalog, mapping, existing.get(mapping.name));
    const state = await stateOf(control, mapping.name);
    const started = performance.now();
    options.view.update(progressOf(state));
    const result = await backfillOffline({
      source: catalog,
      target: writerConnection,
      writer,
      plan,
      state,
      chunkSize: options.chunkSize,
      signal: options.signal,
      onProgress: (progress) => options.view.update(progress),
      logger: options.logger,
    });
    if (result.interrupted) throw interrupted(mapping.name, result.counters.rowsRead);
    const seconds = secondsSince(started);
    const finished = await stateOf(control, mapping.name);
    options.view.finish(progressOf(finished));
    summaries.push(summaryOf(finished, 'offline', seconds, state.rowsCopied));
  }
  return summaries;
}

/** Starts a fresh offline run of `mapping`, or resumes the interrupted one. */
async function startOffline(
  options: BackfillCommandOptions,
  control: MysqlConnection,
  catalog: PgClient,
  mapping: CompiledMapping,
  previous: BackfillState | undefined,
): Promise<void> {
  const { chunkSize } = options;
  if (startsOver(previous, options.restart)) {
    await recordNewRun(control, mapping, {
      status: 'running',
      mode: 'offline',
      chunkSize,
      rowsTotal: await estimateRows(catalog, mapping),
      snapshotLsn: await currentWalLsn(catalog),
    });
    return;
  }
  await execute(control, resumeRunStatement(previous!, 'running', 'offline', chunkSize));
  options.logger.info(
    { mapping: mapping.name, phase: previous!.phase, rowsRead: previous!.rowsRead },
    'resuming the backfill from its last committed chunk',
  );
}

export function interrupted(mapping: string, rowsRead: number | undefined): RuntimeFailure {
  const where =
    rowsRead === undefined
      ? `before mapping ${mapping}`
      : `in mapping ${mapping} after ${rowsRead} rows`;
  return new RuntimeFailure(
    'BACKFILL_INTERRUPTED',
    `backfill interrupted ${where}; run millrace backfill again to resume from the last committed chunk`,
  );
}

/**
 * Records a request for each selected mapping (resuming an interrupted run unless --restart) and
 * follows the replicator's progress until every one is done.
 */
async function followOnline(
  options: BackfillCommandOptions,
  control: MysqlConnection,
  catalog: PgClient,
  database: string,
): Promise<readonly BackfillSummary[]> {
  const names = options.selected.map((mapping) => mapping.name);
  await requestOnline(options, control, catalog, await readBackfills(control, names));
  const follow = new OnlineFollower(options, await readBackfills(control, names));
  const interval = options.followIntervalMs ?? 500;
  const watchdog = replicatorWatchdog(options, control, database);
  for (;;) {
    if (options.signal.aborted) {
      throw new RuntimeFailure(
        'BACKFILL_DETACHED',
        'stopped following the backfill; the replicator goes on with it in-stream (see millrace_backfills)',
      );
    }
    const states = await readBackfills(control, names);
    for (const name of names) follow.observe(name, states.get(name));
    if (follow.finishedAll(names)) break;
    await watchdog();
    await sleep(interval, options.signal);
  }
  return follow.summaries(names);
}

async function requestOnline(
  options: BackfillCommandOptions,
  control: MysqlConnection,
  catalog: PgClient,
  existing: ReadonlyMap<string, BackfillState>,
): Promise<void> {
  for (const mapping of options.selected) {
    const previous = existing.get(mapping.name);
    if (startsOver(previous, options.restart)) {
      await recordNewRun(control, mapping, {
        status: 'requested',
        mode: null,
        chunkSize: options.chunkSize,
        rowsTotal: await estimateRows(catalog, mapping),
        snapshotLsn: null,
      });
    } else if (needsRequest(previous!)) {
      await execute(control, resumeRunStatement(previous!, 'requested', null, options.chunkSize));
    }
    // Otherwise it is already requested or being performed: follow it.
  }
}

/** What the command saw of the replicator's runs while following them. */
class OnlineFollower {
  private readonly startedAt = performance.now();
  private readonly finished = new Map<string, BackfillSummary>();
  private readonly hinted = new Set<string>();

  constructor(
    private readonly options: BackfillCommandOptions,
    /** The runs as they stood when following began, for the rate of this command's rows. */
    private readonly baseline: ReadonlyMap<string, BackfillState>,
  ) {}

  observe(name: string, state: BackfillState | undefined): void {
    if (!state || this.finished.has(name)) return;
    if (state.status === 'failed') {
      throw new RuntimeFailure(
        'BACKFILL_FAILED',
        `the replicator could not backfill mapping ${name}: ${state.error ?? 'unknown error'}; fix the cause and run millrace backfill again`,
        { context: { mapping: name } },
      );
    }
    if (state.status === 'done') {
      const seconds = secondsSince(this.startedAt);
      const before = this.baseline.get(name);
      const copiedBefore = before && before.runId === state.runId ? before.rowsCopied : 0;
      this.options.view.finish(progressOf(state));
      this.finished.set(name, summaryOf(state, 'online', seconds, copiedBefore));
      return;
    }
    this.options.view.update(progressOf(state));
    if (
      state.status === 'requested' &&
      secondsSince(this.startedAt) > 15 &&
      !this.hinted.has(name)
    ) {
      this.hinted.add(name);
      this.options.logger.warn(
        { mapping: name, slot: this.options.slot },
        'the running replicator has not taken this backfill yet: if the mapping was added after run started, restart run (it loads the mappings when it starts)',
      );
    }
  }

  finishedAll(names: readonly string[]): boolean {
    return this.finished.size === names.length;
  }

  summaries(names: readonly string[]): BackfillSummary[] {
    return names.map((name) => this.finished.get(name)!);
  }
}

/** Throws once no replicator has held the slot for a while: nobody would finish the runs. */
function replicatorWatchdog(
  options: BackfillCommandOptions,
  control: MysqlConnection,
  database: string,
): () => Promise<void> {
  let goneSince: number | undefined;
  return async () => {
    if (await replicatorActive(control, database, options.slot)) {
      goneSince = undefined;
      return;
    }
    goneSince ??= performance.now();
    if (performance.now() - goneSince > Math.max(options.connectTimeoutMs, 10_000)) {
      throw new RuntimeFailure(
        'REPLICATOR_STOPPED',
        `the replicator on slot '${options.slot}' stopped before the backfill finished; it goes on when millrace run starts again, or run millrace backfill again to finish it offline`,
      );
    }
  };
}

interface InitialBackfillOptions {
  readonly targetUrl: string;
  readonly connectTimeoutMs: number;
  readonly mappings: readonly CompiledMapping[];
  readonly chunkSize?: number;
  readonly logger: Logger;
}

/**
 * `run --backfill`: requests an in-stream backfill for every mapping that has not completed one
 * (and resumes any interrupted one); the replicator then performs them while it streams. A
 * mapping already backfilled is left alone, so restarting `run --backfill` copies nothing twice.
 * Returns the mappings requested.
 */
export async function requestInitialBackfills(
  options: InitialBackfillOptions,
): Promise<readonly string[]> {
  return withControlSession(options, async (control) => {
    const existing = await readBackfills(
      control,
      options.mappings.map((mapping) => mapping.name),
    );
    const requested: string[] = [];
    const chunkSize = options.chunkSize ?? 10_000;
    for (const mapping of options.mappings) {
      const previous = existing.get(mapping.name);
      if (previous === undefined || previous.runId === null) {
        await recordNewRun(control, mapping, {
          status: 'requested',
          mode: null,
          chunkSize,
          rowsTotal: null,
          snapshotLsn: null,
        });
      } else if (needsRequest(previous)) {
        await execute(control, resumeRunStatement(previous, 'requested', null, chunkSize));
      } else if (previous.status === 'done') {
        continue;
      }
      requested.push(mapping.name);
    }
    if (requested.length > 0) {
      options.logger.info(
        { mappings: requested },
        'initial backfill requested: performed in-stream',
      );
    }
    return requested;
  });
}
