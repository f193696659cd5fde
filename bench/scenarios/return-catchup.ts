import { binlogEnd, listBinlogFiles } from '../../src/mysql/binlog/binlog-files.js';
import { writeCheckpoint } from '../../src/postgres/sink/sql/checkpoint.js';
import { mysqlConnection } from '../support/bench-env.js';
import { summariseProfiles } from '../support/cpu-profile.js';
import { startMillrace, timeCatchUp, waitUntilReached } from '../support/millrace-cli.js';
import {
  type BinlogRange,
  binlogRange,
  decodeBinlogRange,
  settleInnodb,
} from '../support/raw-tools.js';
import {
  crmWorkOrderFingerprintSql,
  finishLineInsert,
  mesWorkOrderFingerprintSql,
  workOrderChurnProcedure,
} from '../support/return-schema.js';
import { prepareReturnStream, type ReturnStream } from '../support/return-stream.js';
import { mb, type ScenarioContext, type ScenarioResult } from '../support/scenario.js';
import { median, round } from '../support/stats.js';

/** MES connections queueing the workload at once: their commits share the log flushes. */
const writers = 8;

type ReturnCatchupRun = {
  readonly run: number;
  readonly order: 'millrace first' | 'decoder first';
  readonly changes: number;
  readonly workloadSeconds: number;
  readonly binlogFiles: number;
  readonly millraceSeconds: number;
  readonly millraceStartupSeconds: number;
  readonly changesPerSecond: number;
  readonly peakRssMb: number;
  readonly exitCode: number | null;
  readonly decodeSeconds: number;
  /** millrace's time over the stock decoder's on the same binlog range. */
  readonly ratio: number;
  readonly crmMatchesMes: boolean;
};

/**
 * Queues `changes` single-row MES transactions (the last one the finish line) and returns the
 * binlog range they were written in: from the CRM checkpoint set before them to the end after.
 */
async function queueWorkload(
  context: ScenarioContext,
  stream: ReturnStream,
  changes: number,
): Promise<{ range: BinlogRange; seconds: number }> {
  const { dbs } = context;
  await dbs.mysql.query('drop procedure if exists bench_wo_churn');
  await dbs.mysql.query(workOrderChurnProcedure);
  // The stream resumes exactly where the workload starts, as if a run had stopped there.
  const filesBefore = await listBinlogFiles(dbs.mysql);
  const start = binlogEnd(filesBefore);
  const newest = filesBefore.at(-1)!;
  const checkpoint = writeCheckpoint(
    stream.name,
    start,
    { file: newest.name, position: BigInt(newest.size) },
    undefined,
  );
  await dbs.pg.query(checkpoint.text, [...checkpoint.values]);
  const began = performance.now();
  const each = Math.floor((changes - 1) / writers);
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      const connection = await mysqlConnection(dbs.servers.mysqlUrl, dbs.name);
      try {
        const n = writer === 0 ? changes - 1 - each * (writers - 1) : each;
        await connection.query('call bench_wo_churn(?, ?)', [n, writer * 100_000_000 + 1]);
      } finally {
        await connection.end();
      }
    }),
  );
  await dbs.mysql.query(finishLineInsert);
  const seconds = (performance.now() - began) / 1000;
  const filesAfter = await listBinlogFiles(dbs.mysql);
  return { range: binlogRange(filesAfter, start, binlogEnd(filesAfter)), seconds };
}

/** `run --direction to-crm` from its start until the finish-line row is on the CRM. */
async function timeMillrace(
  context: ScenarioContext,
  stream: ReturnStream,
  changes: number,
  profiled: boolean,
) {
  const { dbs } = context;
  await settleInnodb(dbs.mysql);
  const run = startMillrace(
    stream.cli,
    stream.args,
    stream.env,
    profiled ? context.profileDir : undefined,
  );
  // Batches commit whole transactions in binlog order: the last one visible means all are.
  return timeCatchUp(run, () =>
    waitUntilReached(
      async () =>
        (await dbs.pg.query('select 1 from bench_work_order where work_order_id = 0')).rows
          .length === 1,
      'the CRM copy',
      run,
      60_000 + (changes / 2_000) * 1000,
    ),
  );
}

async function crmMatchesMes(context: ScenarioContext): Promise<boolean> {
  const [mes] = await context.dbs.mysql.query(mesWorkOrderFingerprintSql);
  const crm = await context.dbs.pg.query(crmWorkOrderFingerprintSql);
  return JSON.stringify((mes as unknown[])[0]) === JSON.stringify(crm.rows[0]);
}

/** One measured run: the workload queued, then millrace and the decoder in alternating order. */
async function catchupRun(
  context: ScenarioContext,
  changes: number,
  index: number,
): Promise<ReturnCatchupRun> {
  const profiled = index === context.options.runs;
  const stream = await prepareReturnStream(context);
  try {
    const queued = await queueWorkload(context, stream, changes);
    const decode = async () => {
      await settleInnodb(context.dbs.mysql);
      return (await decodeBinlogRange(context.dbs.servers.mysqlUrl, queued.range)) / 1000;
    };
    const millraceFirst = index % 2 === 0;
    let measured: Awaited<ReturnType<typeof timeMillrace>>;
    let decodeSeconds: number;
    if (millraceFirst) {
      measured = await timeMillrace(context, stream, changes, profiled);
      decodeSeconds = await decode();
    } else {
      decodeSeconds = await decode();
      measured = await timeMillrace(context, stream, changes, profiled);
    }
    const matches = await crmMatchesMes(context);
    if (!matches) throw new Error('after catch-up the CRM copy differs from the MES table');
    return {
      run: index + 1,
      order: millraceFirst ? 'millrace first' : 'decoder first',
      changes,
      workloadSeconds: round(queued.seconds, 2),
      binlogFiles: queued.range.files.length,
      millraceSeconds: round(measured.seconds),
      millraceStartupSeconds: round(measured.startupSeconds),
      changesPerSecond: Math.round(changes / measured.seconds),
      peakRssMb: mb(measured.peak),
      exitCode: measured.exitCode,
      decodeSeconds: round(decodeSeconds),
      ratio: round(measured.seconds / decodeSeconds),
      crmMatchesMes: matches,
    };
  } finally {
    await stream.close();
  }
}

/**
 * Return catch-up: single-row MES transactions (inserts and updates of work orders) queue in the
 * binlog while no millrace runs; then `millrace run --direction to-crm` starts and is timed until
 * the last of them is visible on the CRM. Raw baseline in the same run: the stock binlog client
 * decoding the same binlog range from the server (`--read-from-remote-server
 * --base64-output=decode-rows --verbose`) into /dev/null.
 */
export async function runReturnCatchup(context: ScenarioContext): Promise<ScenarioResult> {
  const { options, say } = context;
  const changes = Math.max(1_000, Math.round(1_000_000 * options.scale));
  const runs: ReturnCatchupRun[] = [];
  let profile: unknown;
  const total = options.runs + (options.cpuProf ? 1 : 0);
  for (let index = 0; index < total; index++) {
    const result = await catchupRun(context, changes, index);
    if (index === options.runs) {
      profile = summariseProfiles(context.profileDir);
      say(`  profiled run: ${result.changesPerSecond} changes/s (not in the medians)`);
      continue;
    }
    runs.push(result);
    say(
      `  run ${result.run} (${result.order}): millrace ${result.millraceSeconds} s = ${result.changesPerSecond} changes/s, ` +
        `peak RSS ${result.peakRssMb} MB; decoder ${result.decodeSeconds} s; ratio ${result.ratio} ` +
        `(queued in ${result.workloadSeconds} s)`,
    );
  }
  const med = (pick: (run: ReturnCatchupRun) => number) => median(runs.map(pick));
  const summary = {
    changesPerSecond: Math.round(med((run) => run.changesPerSecond)),
    millraceSeconds: round(med((run) => run.millraceSeconds)),
    millraceStartupSeconds: round(med((run) => run.millraceStartupSeconds)),
    decodeSeconds: round(med((run) => run.decodeSeconds)),
    decodeChangesPerSecond: Math.round(changes / med((run) => run.decodeSeconds)),
    ratio: round(med((run) => run.ratio)),
    peakRssMb: med((run) => run.peakRssMb),
  };
  return {
    scenario: 'return-catchup',
    description: `${changes.toLocaleString('en')} queued single-row MES transactions (60% insert, 40% update of work orders) on ${writers} connections`,
    status: 'ok',
    parameters: { changes, writers, runs: options.runs },
    runs,
    median: summary,
    // No rate goal for the return path yet: the figures are what BENCHMARKS.md records.
    targets: [
      {
        name: 'peak RSS',
        target: '< 256 MB',
        value: summary.peakRssMb,
        unit: 'MB',
        met: summary.peakRssMb < 256,
      },
    ],
    ...(profile ? { profile } : {}),
  };
}
