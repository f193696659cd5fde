import { rmSync } from 'node:fs';
import path from 'node:path';
import { dropSlot, pgToolArgs, toolEnv } from '../support/bench-env.js';
import {
  bulkInsertSql,
  churnProcedure,
  rawTable,
  sourceDdl,
  sourceFingerprintSql,
  targetDdl,
  targetFingerprintSql,
  targetTable,
} from '../support/bench-schema.js';
import { summariseProfiles } from '../support/cpu-profile.js';
import {
  millrace,
  millraceEnv,
  startMillrace,
  timeCatchUp,
  waitForCheckpoint,
} from '../support/millrace-cli.js';
import { readDecodedFile } from '../support/pgoutput-file.js';
import { loadSqlFile, settleInnodb, writeUpsertFile } from '../support/raw-tools.js';
import { mb, type ScenarioContext, type ScenarioResult } from '../support/scenario.js';
import { runCommand } from '../support/shell.js';
import { median, round } from '../support/stats.js';

export type CatchupKind = 'rows' | 'txn';

type CatchupRun = {
  readonly run: number;
  readonly order: 'millrace first' | 'raw load first';
  readonly changes: number;
  readonly transactions: number;
  readonly workloadSeconds: number;
  readonly millraceSeconds: number;
  readonly millraceStartupSeconds: number;
  readonly changesPerSecond: number;
  readonly peakRssMb: number;
  readonly exitCode: number | null;
  readonly decodeSeconds: number;
  readonly decodedChanges: number;
  readonly finalRows: number;
  readonly loadSeconds: number;
  readonly rawSeconds: number;
  readonly ratio: number;
  /** millrace's time over pg_recvlogical's alone: how close it sits to the walsender. */
  readonly decodeRatio: number;
  readonly targetMatchesSource: boolean;
  readonly rawMatchesSource: boolean;
};

/** Fresh tables on both sides, no slots, no checkpoint: the state before each run. */
async function resetTables(
  context: ScenarioContext,
  names: { slot: string; raw: string; publication: string },
) {
  const { dbs } = context;
  await dropSlot(dbs.pg, names.slot);
  await dropSlot(dbs.pg, names.raw);
  await dbs.pg.query(`drop publication if exists ${names.publication}`);
  await dbs.pg.query('drop table if exists bench_item');
  await dbs.pg.query(sourceDdl);
  await dbs.pg.query(churnProcedure);
  await dbs.mysql.query(`drop table if exists ${targetTable}, ${rawTable}`);
  await dbs.mysql.query(targetDdl(targetTable));
  await dbs.mysql.query(targetDdl(rawTable));
  await dbs.mysql.query('delete from millrace_checkpoints');
}

async function fingerprints(context: ScenarioContext) {
  const source = (await context.dbs.pg.query(sourceFingerprintSql)).rows[0] as Record<
    string,
    string
  >;
  const [target] = await context.dbs.mysql.query(targetFingerprintSql(targetTable));
  const [raw] = await context.dbs.mysql.query(targetFingerprintSql(rawTable));
  const same = (row: unknown) => JSON.stringify(row) === JSON.stringify(source);
  return {
    source,
    targetMatchesSource: same((target as unknown[])[0]),
    rawMatchesSource: same((raw as unknown[])[0]),
    target: (target as unknown[])[0],
  };
}

/** The queued workload on the CRM; returns its seconds and the WAL insert position after it. */
async function queueWorkload(
  context: ScenarioContext,
  kind: CatchupKind,
  changes: number,
): Promise<{ workloadSeconds: number; endPos: string }> {
  const { dbs } = context;
  const workloadStarted = performance.now();
  if (kind === 'rows') {
    await dbs.pg.query('set synchronous_commit = off');
    await dbs.pg.query(`call bench_churn(${changes}, 1)`);
    await dbs.pg.query('set synchronous_commit = on');
  } else {
    await dbs.pg.query(bulkInsertSql(1, changes));
  }
  const workloadSeconds = (performance.now() - workloadStarted) / 1000;
  // The insert position, not pg_current_wal_lsn() (the write position): with asynchronous
  // commit the last commits may still sit in WAL buffers, and --endpos would stop short of them.
  const endPos = (
    await dbs.pg.query<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn')
  ).rows[0]!.lsn;
  return { workloadSeconds, endPos };
}

/** pg_recvlogical's decode of the workload from the raw slot, checked for every change. */
async function rawDecode(
  context: ScenarioContext,
  names: { raw: string; publication: string; decodedFile: string },
  endPos: string,
  changes: number,
) {
  const { dbs } = context;
  await settleInnodb(dbs.mysql);
  const decode = await runCommand(
    'pg_recvlogical',
    [
      ...pgToolArgs(dbs.servers, dbs.name),
      '--slot',
      names.raw,
      '--start',
      '--no-loop',
      '--endpos',
      endPos,
      '-o',
      'proto_version=1',
      '-o',
      `publication_names=${names.publication}`,
      '-f',
      names.decodedFile,
    ],
    { env: toolEnv(dbs.servers) },
  );
  const decoded = readDecodedFile(names.decodedFile);
  const decodedChanges = decoded.inserts + decoded.updates + decoded.deletes;
  if (decodedChanges !== changes) {
    throw new Error(`pg_recvlogical decoded ${decodedChanges} changes, expected ${changes}`);
  }
  return { decodeSeconds: decode.ms / 1000, decoded, decodedChanges };
}

/** One run's names: millrace's slot, the raw slot, and the raw baseline's files. */
interface RunNames {
  readonly slot: string;
  readonly raw: string;
  readonly publication: string;
  readonly decodedFile: string;
  readonly upsertFile: string;
}

/**
 * millrace's catch-up and the raw load, timed one after the other; the order alternates between
 * runs so neither always meets a warmer server.
 */
async function timeBoth(
  context: ScenarioContext,
  names: RunNames,
  lastCommitEndLsn: bigint,
  changes: number,
  settings: { index: number; profiled: boolean },
) {
  const { dbs, cli } = context;
  const env = millraceEnv(dbs, cli, { slot: names.slot, publication: names.publication });
  const timeMillrace = async () => {
    await settleInnodb(dbs.mysql);
    const run = startMillrace(
      cli,
      ['run'],
      env,
      settings.profiled ? context.profileDir : undefined,
    );
    return timeCatchUp(run, () =>
      waitForCheckpoint(dbs, names.slot, lastCommitEndLsn, run, 60_000 + (changes / 2_000) * 1000),
    );
  };
  const timeLoad = async () => {
    await settleInnodb(dbs.mysql);
    return (await loadSqlFile(dbs, names.upsertFile)) / 1000;
  };
  const millraceFirst = settings.index % 2 === 0;
  let measured: Awaited<ReturnType<typeof timeMillrace>>;
  let loadSeconds: number;
  if (millraceFirst) {
    measured = await timeMillrace();
    loadSeconds = await timeLoad();
  } else {
    loadSeconds = await timeLoad();
    measured = await timeMillrace();
  }
  return { measured, loadSeconds, millraceFirst };
}

/** One measured run on fresh tables and slots, dropped again after it. */
async function catchupRun(
  context: ScenarioContext,
  kind: CatchupKind,
  changes: number,
  names: RunNames,
  settings: { index: number; profiled: boolean },
): Promise<CatchupRun> {
  const { dbs, cli } = context;
  await resetTables(context, names);
  try {
    // millrace's slot and publication as a user makes them, then the raw slot at the same point.
    await millrace(cli, ['setup'], millraceEnv(dbs, cli, names));
    await dbs.pg.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [names.raw]);
    const { workloadSeconds, endPos } = await queueWorkload(context, kind, changes);
    // Raw decode first: its output names the last commit's end LSN, millrace's finish line.
    const { decodeSeconds, decoded, decodedChanges } = await rawDecode(
      context,
      names,
      endPos,
      changes,
    );
    rmSync(names.decodedFile, { force: true });
    await dropSlot(dbs.pg, names.raw);
    const finalRows = await writeUpsertFile(dbs, rawTable, names.upsertFile);
    const { measured, loadSeconds, millraceFirst } = await timeBoth(
      context,
      names,
      decoded.lastCommitEndLsn,
      changes,
      settings,
    );
    rmSync(names.upsertFile, { force: true });
    const check = await fingerprints(context);
    const rawSeconds = decodeSeconds + loadSeconds;
    if (!check.targetMatchesSource) {
      throw new Error(
        `after catch-up the target differs from the source: ${JSON.stringify(check)}`,
      );
    }
    return {
      run: settings.index + 1,
      order: millraceFirst ? 'millrace first' : 'raw load first',
      changes,
      transactions: decoded.transactions,
      workloadSeconds: round(workloadSeconds, 2),
      millraceSeconds: round(measured.seconds),
      millraceStartupSeconds: round(measured.startupSeconds),
      changesPerSecond: Math.round(changes / measured.seconds),
      peakRssMb: mb(measured.peak),
      exitCode: measured.exitCode,
      decodeSeconds: round(decodeSeconds),
      decodedChanges,
      finalRows,
      loadSeconds: round(loadSeconds),
      rawSeconds: round(rawSeconds),
      ratio: round(measured.seconds / rawSeconds),
      decodeRatio: round(measured.seconds / decodeSeconds),
      targetMatchesSource: check.targetMatchesSource,
      rawMatchesSource: check.rawMatchesSource,
    };
  } finally {
    rmSync(names.decodedFile, { force: true });
    rmSync(names.upsertFile, { force: true });
    await dropSlot(dbs.pg, names.slot);
    await dropSlot(dbs.pg, names.raw);
  }
}

function catchupMedians(runs: readonly CatchupRun[]) {
  const med = (pick: (run: CatchupRun) => number) => median(runs.map(pick));
  return {
    changesPerSecond: Math.round(med((run) => run.changesPerSecond)),
    millraceSeconds: round(med((run) => run.millraceSeconds)),
    millraceStartupSeconds: round(med((run) => run.millraceStartupSeconds)),
    decodeSeconds: round(med((run) => run.decodeSeconds)),
    loadSeconds: round(med((run) => run.loadSeconds)),
    rawSeconds: round(med((run) => run.rawSeconds)),
    ratio: round(med((run) => run.ratio)),
    decodeRatio: round(med((run) => run.decodeRatio)),
    peakRssMb: med((run) => run.peakRssMb),
    finalRows: med((run) => run.finalRows),
  };
}

function catchupTargets(
  kind: CatchupKind,
  summary: ReturnType<typeof catchupMedians>,
): ScenarioResult['targets'] {
  return [
    {
      name: 'catch-up rate',
      target: '≥ 100,000 changes/s',
      value: summary.changesPerSecond,
      unit: 'changes/s',
      met: summary.changesPerSecond >= 100_000,
    },
    {
      name: 'ratio to raw tools',
      target: '≤ 1.0',
      value: summary.ratio,
      unit: '×',
      met: summary.ratio <= 1,
    },
    ...(kind === 'rows'
      ? [
          {
            name: 'ratio to pg_recvlogical alone',
            target: '≤ 1.25 (goal 1.1)',
            value: summary.decodeRatio,
            unit: '×',
            met: summary.decodeRatio <= 1.25,
          },
        ]
      : []),
    {
      name: 'peak RSS',
      target: '< 256 MB',
      value: summary.peakRssMb,
      unit: 'MB',
      met: summary.peakRssMb < 256,
    },
  ];
}

/**
 * Stream catch-up: a workload queues in the slot while no replicator runs, then `millrace run`
 * starts and is timed until its checkpoint reaches the last workload commit. Raw baseline in the
 * same run: pg_recvlogical decoding the same WAL from a second slot created at the same point,
 * plus the mariadb client loading the final rows as 1,000-row upserts.
 */
export async function runCatchup(
  context: ScenarioContext,
  kind: CatchupKind,
): Promise<ScenarioResult> {
  const { options, dbs, say } = context;
  const changes = Math.max(1_000, Math.round(1_000_000 * options.scale));
  const runs: CatchupRun[] = [];
  const publication = dbs.uniqueName('pub');
  const description =
    kind === 'rows'
      ? `${changes.toLocaleString('en')} queued single-row transactions (50% insert, 35% update, 15% delete)`
      : `one ${changes.toLocaleString('en')}-row INSERT transaction`;
  let profile: unknown;

  const total = options.runs + (options.cpuProf ? 1 : 0);
  for (let index = 0; index < total; index++) {
    const profiled = index === options.runs;
    const slot = dbs.uniqueName('m');
    const raw = dbs.uniqueName('r');
    const names: RunNames = {
      slot,
      raw,
      publication,
      decodedFile: path.join(context.workDir, `${raw}.pgoutput`),
      upsertFile: path.join(context.workDir, `${raw}.sql`),
    };
    const result = await catchupRun(context, kind, changes, names, { index, profiled });
    if (profiled) {
      profile = summariseProfiles(context.profileDir);
      say(`  profiled run: ${result.changesPerSecond} changes/s (not in the medians)`);
    } else {
      runs.push(result);
      say(
        `  run ${result.run} (${result.order}): millrace ${result.millraceSeconds} s = ${result.changesPerSecond} changes/s, ` +
          `peak RSS ${result.peakRssMb} MB; raw ${result.decodeSeconds} s decode + ${result.loadSeconds} s load ` +
          `(${result.finalRows} rows); ratio ${result.ratio}, ${result.decodeRatio} to the decode alone`,
      );
    }
  }
  const summary = catchupMedians(runs);
  return {
    scenario: kind === 'rows' ? 'catchup-rows' : 'catchup-txn',
    description,
    status: 'ok',
    parameters: { changes, runs: options.runs },
    runs,
    median: summary,
    targets: catchupTargets(kind, summary),
    ...(profile ? { profile } : {}),
  };
}
