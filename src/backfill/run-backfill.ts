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
import { sleep } from '../util/sleep.js';
import { claimBackfillRole, replicatorActive } from './backfill-lock.js';
import type { BackfillSummary, ProgressView } from './backfill-progress.js';
import {
  type BackfillState,
  type ControlConnection,
  execute,
  newRunStatement,
  readBackfills,
  resumeRunStatement,
  startsOver,
} from './backfill-store.js';
import { type BackfillProgress, backfillOffline } from './offline-backfill.js';
import { planMapping } from './plan-mapping.js';
import { currentWalLsn, estimateRows } from './source-reader.js';

export interface BackfillCommandOptions {
  readonly sourceUrl: string;
  readonly targetUrl: string;
  readonly slot: string;
  /** Start-up connect timeout, in milliseconds. */
  readonly connectTimeoutMs: number;
  /** Every compiled mapping: a target row is stale only when no mapping of its table produces it. */
  readonly mappings: readonly CompiledMapping[];
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
  /** How often an online backfill's progress is read back, in milliseconds. */
  readonly followIntervalMs?: number;
}

type Releaser = () => Promise<unknown>;

/**
 * `millrace backfill`. With no replicator on the slot it copies itself (offline), holding the
 * replicator's lock meanwhile; with one running it records requests that the replicator performs
 * in-stream between watermarks (online), and follows their progress until they are done.
 */
export async function runBackfill(
  options: BackfillCommandOptions,
): Promise<readonly BackfillSummary[]> {
  const releasers: Releaser[] = [];
  try {
    // The control session holds the locks for as long as the command runs.
    const control = await connectTarget({
      url: options.targetUrl,
      timeoutMs: options.connectTimeoutMs,
      logger: options.logger,
    });
    releasers.push(() => control.end());
    await checkControlTables(control);
    const catalog = await connectSource({
      url: options.sourceUrl,
      timeoutMs: options.connectTimeoutMs,
      logger: options.logger,
      applicationName: 'millrace backfill',
    });
    releasers.push(() => catalog.end());
    const database = parseTargetUrl(options.targetUrl).database;
    const role = await claimBackfillRole(control, database, options.slot);
    if (role === 'offline') {
      const writerConnection = await connectTarget({
        url: options.targetUrl,
        timeoutMs: options.connectTimeoutMs,
        logger: options.logger,
      });
      releasers.push(() => writerConnection.end());
      return await backfillAllOffline(options, control, catalog, writerConnection);
    }
    options.logger.info(
      { slot: options.slot },
      'a replicator is running on this slot: it performs the backfill in-stream; following its progress',
    );
    return await followOnline(options, control, catalog, database);
  } finally {
    while (releasers.length > 0) await releasers.pop()!().catch(() => undefined);
  }
}

async function checkControlTables(connection: ControlConnection): Promise<void> {
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
async function targetHasRows(connection: ControlConnection, table: string): Promise<boolean> {
  const [rows] = await connection.query(
    `SELECT 1 AS present FROM ${quoteMysqlIdent(table)} LIMIT 1`,
  );
  return (rows as unknown[]).length > 0;
}

function progressOf(state: BackfillState): BackfillProgress {
  return {
    mapping: state.mapping,
    phase: state.phase,
    counters: {
      rowsRead: state.rowsRead,
      rowsCopied: state.rowsCopied,
      rowsRemoved: state.rowsRemoved,
      deadLetters: state.deadLetters,
    },
    rowsTotal: state.rowsTotal,
  };
}

async function stateOf(connection: ControlConnection, mapping: string): Promise<BackfillState> {
  const state = (await readBackfills(connection, [mapping])).get(mapping);
  if (!state)
    throw new RuntimeFailure('BACKFILL_STATE', `the backfill row of mapping ${mapping} vanished`);
  return state;
}

async function backfillAllOffline(
  options: BackfillCommandOptions,
  control: MysqlConnection,
  catalog: PgClient,
  writerConnection: MysqlConnection,
): Promise<readonly BackfillSummary[]> {
  const { logger, chunkSize } = options;
  const { rows: slots } = await catalog.query(
    'select 1 from pg_replication_slots where slot_name = $1 and database = current_database()',
    [options.slot],
  );
  if (slots.length === 0) {
    // Without the slot, changes made between this copy and `setup` would never reach the target.
    logger.warn(
      { slot: options.slot },
      'the replication slot does not exist yet: run millrace setup before backfill, so that run replays every change made since the copy began',
    );
  }
  const writer = new TargetWriter({
    connection: writerConnection,
    logger: logger.child({ component: 'writer' }),
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
    const previous = existing.get(mapping.name);
    if (startsOver(previous, options.restart)) {
      await execute(
        control,
        newRunStatement({
          mapping: mapping.name,
          runId: randomUUID(),
          status: 'running',
          mode: 'offline',
          chunkSize,
          rowsTotal: await estimateRows(catalog, mapping),
          prune: await targetHasRows(control, mapping.target),
          snapshotLsn: await currentWalLsn(catalog),
        }),
      );
    } else {
      await execute(control, resumeRunStatement(previous!, 'running', 'offline', chunkSize));
      logger.info(
        { mapping: mapping.name, phase: previous!.phase, rowsRead: previous!.rowsRead },
        'resuming the backfill from its last committed chunk',
      );
    }
    const state = await stateOf(control, mapping.name);
    const started = performance.now();
    options.view.update(progressOf(state));
    const result = await backfillOffline({
      source: catalog,
      target: writerConnection,
      writer,
      plan,
      state,
      chunkSize,
      signal: options.signal,
      onProgress: (progress) => options.view.update(progress),
    });
    if (result.interrupted) throw interrupted(mapping.name, result.counters.rowsRead);
    const seconds = (performance.now() - started) / 1000;
    const finished = await stateOf(control, mapping.name);
    options.view.finish(progressOf(finished));
    summaries.push({
      mapping: mapping.name,
      mode: 'offline',
      rowsCopied: finished.rowsCopied,
      deadLetters: finished.deadLetters,
      rowsRemoved: finished.rowsRemoved,
      seconds,
      rowsPerSecond: seconds > 0 ? (finished.rowsCopied - state.rowsCopied) / seconds : 0,
    });
  }
  return summaries;
}

function interrupted(mapping: string, rowsRead: number | undefined): RuntimeFailure {
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
  const { logger } = options;
  const names = options.selected.map((mapping) => mapping.name);
  const existing = await readBackfills(control, names);
  for (const mapping of options.selected) {
    const previous = existing.get(mapping.name);
    if (startsOver(previous, options.restart)) {
      await execute(
        control,
        newRunStatement({
          mapping: mapping.name,
          runId: randomUUID(),
          status: 'requested',
          mode: null,
          chunkSize: options.chunkSize,
          rowsTotal: await estimateRows(catalog, mapping),
          prune: await targetHasRows(control, mapping.target),
          snapshotLsn: null,
        }),
      );
    } else if (
      previous!.status === 'failed' ||
      (previous!.status === 'running' && previous!.mode !== 'online')
    ) {
      await execute(control, resumeRunStatement(previous!, 'requested', null, options.chunkSize));
    }
    // Otherwise it is already requested or being performed: follow it.
  }
  const startedAt = performance.now();
  const baseline = await readBackfills(control, names);
  const finished = new Map<string, BackfillSummary>();
  const hinted = new Set<string>();
  const interval = options.followIntervalMs ?? 500;
  let replicatorGoneSince: number | undefined;
  for (;;) {
    if (options.signal.aborted) {
      throw new RuntimeFailure(
        'BACKFILL_DETACHED',
        'stopped following the backfill; the replicator goes on with it in-stream (see millrace_backfills)',
      );
    }
    const states = await readBackfills(control, names);
    for (const name of names) {
      const state = states.get(name);
      if (!state || finished.has(name)) continue;
      if (state.status === 'failed') {
        throw new RuntimeFailure(
          'BACKFILL_FAILED',
          `the replicator could not backfill mapping ${name}: ${state.error ?? 'unknown error'}; fix the cause and run millrace backfill again`,
          { context: { mapping: name } },
        );
      }
      if (state.status === 'done') {
        const seconds = (performance.now() - startedAt) / 1000;
        const before = baseline.get(name);
        const copiedBefore = before && before.runId === state.runId ? before.rowsCopied : 0;
        options.view.finish(progressOf(state));
        finished.set(name, {
          mapping: name,
          mode: 'online',
          rowsCopied: state.rowsCopied,
          deadLetters: state.deadLetters,
          rowsRemoved: state.rowsRemoved,
          seconds,
          rowsPerSecond: seconds > 0 ? (state.rowsCopied - copiedBefore) / seconds : 0,
        });
        continue;
      }
      options.view.update(progressOf(state));
      const waiting = (performance.now() - startedAt) / 1000;
      if (state.status === 'requested' && waiting > 15 && !hinted.has(name)) {
        hinted.add(name);
        logger.warn(
          { mapping: name, slot: options.slot },
          'the running replicator has not taken this backfill yet: if the mapping was added after run started, restart run (it loads the mappings when it starts)',
        );
      }
    }
    if (finished.size === names.length) break;
    if (await replicatorActive(control, database, options.slot)) {
      replicatorGoneSince = undefined;
    } else {
      replicatorGoneSince ??= performance.now();
      if (performance.now() - replicatorGoneSince > Math.max(options.connectTimeoutMs, 10_000)) {
        throw new RuntimeFailure(
          'REPLICATOR_STOPPED',
          `the replicator on slot '${options.slot}' stopped before the backfill finished; it goes on when millrace run starts again, or run millrace backfill again to finish it offline`,
        );
      }
    }
    await sleep(interval, options.signal);
  }
  return names.map((name) => finished.get(name)!);
}

export interface InitialBackfillOptions {
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
  const control = await connectTarget({
    url: options.targetUrl,
    timeoutMs: options.connectTimeoutMs,
    logger: options.logger,
  });
  try {
    await checkControlTables(control);
    const existing = await readBackfills(
      control,
      options.mappings.map((mapping) => mapping.name),
    );
    const requested: string[] = [];
    const chunkSize = options.chunkSize ?? 10_000;
    for (const mapping of options.mappings) {
      const previous = existing.get(mapping.name);
      if (previous === undefined || previous.runId === null) {
        await execute(
          control,
          newRunStatement({
            mapping: mapping.name,
            runId: randomUUID(),
            status: 'requested',
            mode: null,
            chunkSize,
            rowsTotal: null,
            prune: await targetHasRows(control, mapping.target),
            snapshotLsn: null,
          }),
        );
      } else if (
        previous.status === 'failed' ||
        (previous.status === 'running' && previous.mode !== 'online')
      ) {
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
  } finally {
    await control.end().catch(() => undefined);
  }
}
