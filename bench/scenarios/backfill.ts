import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withDatabase } from '../support/bench-env.js';
import {
  bulkInsertSql,
  rawTable,
  sourceDdl,
  sourceFingerprintSql,
  targetDdl,
  targetFingerprintSql,
  targetTable,
} from '../support/bench-schema.js';
import { summariseProfiles } from '../support/cpu-profile.js';
import { DescendantMemory } from '../support/descendant-memory.js';
import { millraceEnv, startMillrace } from '../support/millrace-cli.js';
import { copyIntoLoadData, settleInnodb } from '../support/raw-tools.js';
import { mb, type ScenarioContext, type ScenarioResult } from '../support/scenario.js';
import { median, round } from '../support/stats.js';

/** The backfill engineer's bench (bench/backfill.ts), built next to this file. */
const engineerBench = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../backfill.js');

interface EngineerOutput {
  readonly rows: number;
  readonly rounds: readonly {
    round: number;
    rawSeconds: number;
    millraceSeconds: number;
    ratio: number;
  }[];
  readonly median: {
    readonly rawSeconds: number;
    readonly millraceSeconds: number;
    readonly rawRowsPerSecond: number;
    readonly millraceRowsPerSecond: number;
    readonly ratio: number;
  };
}

function targets(rowsPerSecond: number, ratio: number, peakRssMb: number) {
  return [
    {
      name: 'ratio to COPY | LOAD DATA',
      target: '≤ 1.5',
      value: ratio,
      unit: '×',
      met: ratio <= 1.5,
    },
    {
      name: 'backfill rate',
      target: '(no target; for reference)',
      value: rowsPerSecond,
      unit: 'rows/s',
      met: true,
    },
    { name: 'peak RSS', target: '< 256 MB', value: peakRssMb, unit: 'MB', met: peakRssMb < 256 },
  ];
}

/**
 * Backfill of 1M rows against `COPY … TO STDOUT | LOAD DATA LOCAL INFILE`. Runs the backfill
 * engineer's bench/backfill.ts (its own table, databases and rounds; raw and millrace alternate on
 * an empty target after InnoDB settles, CHECKSUM TABLE proves both loads equal) and samples the
 * peak RSS of the `millrace backfill` processes it spawns. Without that file, does the same with
 * the bench table through the CLI.
 */
export async function runBackfill(context: ScenarioContext): Promise<ScenarioResult> {
  const rows = Math.max(1_000, Math.round(1_000_000 * context.options.scale));
  if (!existsSync(engineerBench)) return runOwnBackfill(context, rows, context.options.runs);
  const result = await runEngineerBench(context, rows);
  if (!context.options.cpuProf) return result;
  // The engineer's bench spawns millrace itself: the profile comes from one run of our own.
  const profiled = await runOwnBackfill(context, rows, 0);
  return { ...result, ...(profiled.profile ? { profile: profiled.profile } : {}) };
}

async function runEngineerBench(context: ScenarioContext, rows: number): Promise<ScenarioResult> {
  const { options, dbs, say } = context;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CRM_DATABASE_URL: withDatabase(dbs.servers.pgUrl, 'postgres'),
    MES_DATABASE_URL: withDatabase(dbs.servers.mysqlUrl, 'mysql'),
    BENCH_ROWS: String(rows),
    BENCH_ROUNDS: String(options.runs),
  };
  say(`  running bench/backfill.ts (${rows} rows, ${options.runs} rounds)`);
  const child = spawn(process.execPath, [engineerBench], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const memory = new DescendantMemory(
    child.pid ?? -1,
    // bin/millrace execs node in the same process: main.js's or the snapshot's command line.
    (command) => / backfill( |$)/.test(command) && /main\.(js|snapshot\.blob) /.test(command),
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const line of chunk.split('\n')) if (line.startsWith('round')) say(`  ${line}`);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  memory.stop();
  if (code !== 0)
    throw new Error(`bench/backfill.ts exited ${code}: ${stderr.trim().slice(-1500)}`);
  const output = JSON.parse(stdout) as EngineerOutput;
  const peaks = memory.results().map((entry) => mb(entry.peak));
  const runs = output.rounds.map((round, index) => ({
    run: round.round,
    rows: output.rows,
    millraceSeconds: round.millraceSeconds,
    rawSeconds: round.rawSeconds,
    rowsPerSecond: Math.round(output.rows / round.millraceSeconds),
    rawRowsPerSecond: Math.round(output.rows / round.rawSeconds),
    ratio: round.ratio,
    peakRssMb: peaks[index] ?? Number.NaN,
  }));
  const peakRssMb = median(runs.map((run) => run.peakRssMb));
  const summary = {
    rowsPerSecond: output.median.millraceRowsPerSecond,
    rawRowsPerSecond: output.median.rawRowsPerSecond,
    millraceSeconds: output.median.millraceSeconds,
    rawSeconds: output.median.rawSeconds,
    ratio: round(median(runs.map((run) => run.ratio)), 2),
    peakRssMb,
  };
  return {
    scenario: 'backfill',
    description: `bench/backfill.ts: ${rows.toLocaleString('en')} rows (bench_order, 9 columns), \`millrace backfill --restart\` (default chunk size) vs COPY | LOAD DATA`,
    status: 'ok',
    parameters: {
      rows,
      runs: options.runs,
      via: "bench/backfill.ts (the backfill engineer's bench); RSS sampled from /proc of the millrace processes it spawns (through bin/millrace, as a user starts it)",
    },
    runs,
    median: summary,
    targets: targets(summary.rowsPerSecond, summary.ratio, peakRssMb),
  };
}

/** Fails unless both loads of the round hold exactly the source's rows. */
async function checkLoads(context: ScenarioContext, source: Record<string, string>): Promise<void> {
  for (const table of [targetTable, rawTable]) {
    const [found] = await context.dbs.mysql.query(targetFingerprintSql(table));
    if (JSON.stringify((found as unknown[])[0]) !== JSON.stringify(source)) {
      throw new Error(
        `${table} differs from the source after the load: ${JSON.stringify((found as unknown[])[0])} vs ${JSON.stringify(source)}`,
      );
    }
  }
}

/**
 * One round on empty targets: `millrace backfill` and COPY | LOAD DATA, in an order that
 * alternates between rounds so neither always meets a warmer server.
 */
async function ownBackfillRound(
  context: ScenarioContext,
  env: NodeJS.ProcessEnv,
  source: Record<string, string>,
  rows: number,
  turn: { index: number; profiled: boolean },
) {
  const { dbs, cli } = context;
  await dbs.mysql.query(`drop table if exists ${targetTable}, ${rawTable}`);
  await dbs.mysql.query(targetDdl(targetTable));
  await dbs.mysql.query(targetDdl(rawTable));
  const timeMillrace = async () => {
    await settleInnodb(dbs.mysql);
    const run = startMillrace(
      cli,
      ['backfill', '--restart'],
      env,
      turn.profiled ? context.profileDir : undefined,
    );
    const exit = await run.exited;
    if (exit.code !== 0) throw new Error(`millrace backfill exited ${exit.code}\n${run.tail()}`);
    return { seconds: (performance.now() - run.startedAt) / 1000, peak: run.peakRssBytes() };
  };
  const timeRaw = async () => {
    await settleInnodb(dbs.mysql);
    return (await copyIntoLoadData(dbs, rawTable)) / 1000;
  };
  const millraceFirst = turn.index % 2 === 0;
  let ours: { seconds: number; peak: number };
  let rawSeconds: number;
  if (millraceFirst) {
    ours = await timeMillrace();
    rawSeconds = await timeRaw();
  } else {
    rawSeconds = await timeRaw();
    ours = await timeMillrace();
  }
  await checkLoads(context, source);
  return {
    run: turn.index + 1,
    order: millraceFirst ? 'millrace first' : 'raw first',
    rows,
    millraceSeconds: round(ours.seconds),
    rawSeconds: round(rawSeconds),
    rowsPerSecond: Math.round(rows / ours.seconds),
    rawRowsPerSecond: Math.round(rows / rawSeconds),
    ratio: round(ours.seconds / rawSeconds),
    peakRssMb: mb(ours.peak),
  };
}

/** `measuredRuns` timed runs (and, with --cpu-prof, one profiled run after them). */
async function runOwnBackfill(
  context: ScenarioContext,
  rows: number,
  measuredRuns: number,
): Promise<ScenarioResult> {
  const { options, dbs, cli, say } = context;
  await dbs.pg.query('drop table if exists bench_item');
  await dbs.pg.query(sourceDdl);
  await dbs.pg.query(bulkInsertSql(1, rows));
  await dbs.pg.query('vacuum analyze bench_item');
  const source = (await dbs.pg.query(sourceFingerprintSql)).rows[0] as Record<string, string>;
  const slot = dbs.uniqueName('m');
  const env = millraceEnv(dbs, cli, { slot, publication: slot });
  const runs: Record<string, number | string>[] = [];
  let profile: unknown;
  const total = measuredRuns + (options.cpuProf ? 1 : 0);
  for (let index = 0; index < total; index++) {
    const profiled = index === measuredRuns;
    const result = await ownBackfillRound(context, env, source, rows, { index, profiled });
    if (profiled) {
      profile = summariseProfiles(context.profileDir);
      say(`  profiled run: ${result.rowsPerSecond} rows/s (not in the medians)`);
    } else {
      runs.push(result);
      say(
        `  run ${result.run} (${result.order}): millrace ${result.millraceSeconds} s = ${result.rowsPerSecond} rows/s, ` +
          `peak RSS ${result.peakRssMb} MB; COPY | LOAD DATA ${result.rawSeconds} s; ratio ${result.ratio}`,
      );
    }
  }
  const med = (key: string) => median(runs.map((run) => Number(run[key])));
  const summary = {
    rowsPerSecond: Math.round(med('rowsPerSecond')),
    rawRowsPerSecond: Math.round(med('rawRowsPerSecond')),
    millraceSeconds: round(med('millraceSeconds')),
    rawSeconds: round(med('rawSeconds')),
    ratio: round(med('ratio')),
    peakRssMb: med('peakRssMb'),
  };
  return {
    scenario: 'backfill',
    description: `${rows.toLocaleString('en')} rows of bench_item, \`millrace backfill --restart\` (default chunk size) vs COPY | LOAD DATA`,
    status: 'ok',
    parameters: { rows, runs: measuredRuns, via: 'millrace backfill through the CLI' },
    runs,
    median: summary,
    targets: targets(summary.rowsPerSecond, summary.ratio, summary.peakRssMb),
    ...(profile ? { profile } : {}),
  };
}
