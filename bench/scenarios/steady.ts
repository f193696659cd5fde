import { dropSlot, mysqlConnection, pgClient } from '../support/bench-env.js';
import { itemStatements, sourceDdl, targetDdl, targetTable } from '../support/bench-schema.js';
import { summariseProfiles } from '../support/cpu-profile.js';
import { type MillraceCli, millrace, millraceEnv, startMillrace } from '../support/millrace-cli.js';
import { logMessageIs } from '../support/millrace-process.js';
import {
  PacedWorkload,
  type ProbePoll,
  type WorkloadSession,
  type WorkloadStatements,
} from '../support/paced-workload.js';
import { mb, type ScenarioContext, type ScenarioResult } from '../support/scenario.js';
import { median, percentile, round } from '../support/stats.js';

/**
 * Source connections the paced workload spreads its transactions over: 16, and more at high
 * rates, where commits per second are bounded by how many backends share one WAL flush.
 */
const connectionsFor = (rate: number) => Math.min(48, Math.max(16, Math.ceil(rate / 300)));

/** The latency goal at a rate: 30 ms up to 2,000 changes/s, 100 ms above. */
const latencyGoalMs = (rate: number) => (rate <= 2_000 ? 30 : 100);

type SteadyRun = {
  readonly run: number;
  readonly targetRate: number;
  readonly achievedRate: number;
  readonly samples: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly sentP99Ms: number;
  /** Sent → commit returned on the CRM, p99: large when the CRM could not take the rate. */
  readonly sourceCommitP99Ms: number;
  readonly superseded: number;
  readonly lost: number;
  readonly errors: number;
  readonly pollIntervalMs: number;
  readonly maxOutstanding: number;
  readonly peakRssMb: number;
  readonly exitCode: number | null;
};

/** One run's stream, ready for the workload: what differs between the two directions. */
export interface PacedRun {
  /** millrace's environment, mappings and `run` arguments for this stream. */
  readonly env: NodeJS.ProcessEnv;
  readonly cli: MillraceCli;
  readonly args: readonly string[];
  /** The workload's sessions on the source, its statements, and the poll on the target. */
  readonly sessions: readonly WorkloadSession[];
  readonly statements: WorkloadStatements;
  readonly poll: ProbePoll;
  /** Ends the sessions and removes what the run made (slot, origin); safe after a failure. */
  close(): Promise<void>;
}

/** A direction's steady state: its scenario name, source, and how one run is prepared. */
export interface PacedStream {
  readonly scenario: string;
  /** The database the workload writes, for descriptions and lines ("CRM", "MES"). */
  readonly source: string;
  /** Fresh tables and a fresh stream for one run, with `connections` workload sessions open. */
  prepare(context: ScenarioContext, connections: number): Promise<PacedRun>;
}

/** The forward stream: the CRM's bench_item into the MES staging table. */
const forward: PacedStream = {
  scenario: 'steady',
  source: 'CRM',
  async prepare({ dbs, cli }, connections) {
    const slot = dbs.uniqueName('m');
    const publication = dbs.uniqueName('pub');
    await dbs.pg.query('drop table if exists bench_item');
    await dbs.pg.query(sourceDdl);
    await dbs.mysql.query(`drop table if exists ${targetTable}`);
    await dbs.mysql.query(targetDdl(targetTable));
    await dbs.mysql.query('delete from millrace_checkpoints');
    const env = millraceEnv(dbs, cli, { slot, publication });
    const clients = Array.from({ length: connections }, () =>
      pgClient(dbs.crmUrl, 'millrace-bench-workload'),
    );
    const poll = await mysqlConnection(dbs.servers.mysqlUrl, dbs.name);
    const close = async () => {
      for (const client of clients) await client.end().catch(() => undefined);
      await poll.end().catch(() => undefined);
      await dropSlot(dbs.pg, slot);
      await dbs.pg.query(`drop publication if exists ${publication}`);
    };
    try {
      await millrace(cli, ['setup'], env);
      for (const client of clients) await client.connect();
    } catch (error) {
      await close();
      throw error;
    }
    return {
      env,
      cli,
      args: ['run'],
      sessions: clients,
      statements: itemStatements,
      poll: async (fromProbe) => {
        const [rows] = await poll.query(
          `select item_id, probe from ${targetTable} where probe >= ?`,
          [fromProbe],
        );
        return (rows as { item_id: string | number; probe: string | number }[]).map((row) => ({
          key: Number(row.item_id),
          probe: Number(row.probe),
        }));
      },
      close,
    };
  },
};

/**
 * Steady state: `millrace run` replicating while a paced workload (inserts, updates, deletes in
 * single-row autocommit transactions) runs at --steady-rate for --steady-seconds; latency from each
 * source commit to the moment the change is visible to another session on the target.
 */
export function runSteady(context: ScenarioContext, rate: number): Promise<ScenarioResult> {
  return runPacedScenario(context, rate, forward);
}

/** A steady state of `stream`: --runs runs at `rate`, medians and targets. */
export async function runPacedScenario(
  context: ScenarioContext,
  rate: number,
  stream: PacedStream,
): Promise<ScenarioResult> {
  const { options } = context;
  const workloadConnections = connectionsFor(rate);
  const runs: SteadyRun[] = [];
  let profile: unknown;
  const total = options.runs + (options.cpuProf ? 1 : 0);
  for (let index = 0; index < total; index++) {
    const profiled = index === options.runs;
    const result = await pacedRun(context, rate, stream, workloadConnections, index);
    if (profiled) {
      profile = summariseProfiles(context.profileDir);
      context.say(`  profiled run: p99 ${result.p99Ms} ms (not in the medians)`);
    } else {
      runs.push(result);
      context.say(
        `  run ${result.run}: ${result.achievedRate} changes/s, ${result.samples} samples: p50 ${result.p50Ms} ms, ` +
          `p95 ${result.p95Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms; peak RSS ${result.peakRssMb} MB ` +
          `(poll every ${result.pollIntervalMs} ms; ${stream.source} commit p99 ${result.sourceCommitP99Ms} ms)`,
      );
    }
  }
  return summarise(context, rate, stream, workloadConnections, runs, profile);
}

/** One measured run: the stream replicating while the paced workload runs and is drained. */
async function pacedRun(
  context: ScenarioContext,
  rate: number,
  stream: PacedStream,
  connections: number,
  index: number,
): Promise<SteadyRun> {
  const { options } = context;
  const profiled = index === options.runs;
  const prepared = await stream.prepare(context, connections);
  let run: ReturnType<typeof startMillrace> | undefined;
  try {
    run = startMillrace(
      prepared.cli,
      prepared.args,
      prepared.env,
      profiled ? context.profileDir : undefined,
    );
    await run.waitForLine(
      logMessageIs('replicator replicating'),
      60_000,
      'millrace to start replicating',
    );
    const workload = new PacedWorkload({
      clients: prepared.sessions,
      statements: prepared.statements,
      poll: prepared.poll,
    });
    const { windowSeconds } = await workload.drive(
      rate,
      options.steadyWarmupSeconds,
      options.steadySeconds,
    );
    await workload.drain(30_000);
    const peak = run.peakRssBytes();
    const exit = await run.stop();
    const totals = workload.totals;
    const sorted = [...totals.latenciesMs].sort((a, b) => a - b);
    const sent = [...totals.sentLatenciesMs].sort((a, b) => a - b);
    const commitSorted = [...totals.commitMs].sort((a, b) => a - b);
    const result: SteadyRun = {
      run: index + 1,
      targetRate: rate,
      // Commits that returned inside the window: what the source took, whatever the driver sent.
      achievedRate: Math.round(totals.committedInWindow / windowSeconds),
      samples: sorted.length,
      p50Ms: round(percentile(sorted, 50), 1),
      p95Ms: round(percentile(sorted, 95), 1),
      p99Ms: round(percentile(sorted, 99), 1),
      maxMs: round(sorted[sorted.length - 1] ?? Number.NaN, 1),
      sentP99Ms: round(percentile(sent, 99), 1),
      sourceCommitP99Ms: round(percentile(commitSorted, 99), 1),
      superseded: totals.superseded,
      lost: totals.lost,
      errors: totals.errors,
      pollIntervalMs: round((windowSeconds * 1000) / Math.max(1, totals.polls), 2),
      maxOutstanding: totals.maxOutstanding,
      peakRssMb: mb(Math.max(peak, run.peakRssBytes())),
      exitCode: exit.code,
    };
    if (result.lost > 0 || result.errors > 0) {
      throw new Error(
        `${result.lost} changes never became visible on the target, ${result.errors} source errors ${totals.firstError ?? ''}`,
      );
    }
    return result;
  } finally {
    run?.kill();
    await prepared.close();
  }
}

/** The medians of a rate's runs. */
function medianOf(runs: readonly SteadyRun[]) {
  const med = (pick: (run: SteadyRun) => number, digits: number) =>
    round(median(runs.map(pick)), digits);
  return {
    achievedRate: Math.round(median(runs.map((run) => run.achievedRate))),
    samples: Math.round(median(runs.map((run) => run.samples))),
    p50Ms: med((run) => run.p50Ms, 1),
    p95Ms: med((run) => run.p95Ms, 1),
    p99Ms: med((run) => run.p99Ms, 1),
    maxMs: med((run) => run.maxMs, 1),
    pollIntervalMs: med((run) => run.pollIntervalMs, 2),
    peakRssMb: median(runs.map((run) => run.peakRssMb)),
  };
}

/** The targets the medians are held to. */
function steadyTargets(
  rate: number,
  summary: ReturnType<typeof medianOf>,
): ScenarioResult['targets'] {
  return [
    {
      name: 'p99 commit-to-visible latency',
      target: '< 250 ms',
      value: summary.p99Ms,
      unit: 'ms',
      met: summary.p99Ms < 250,
    },
    {
      name: 'p99 commit-to-visible latency, goal',
      target: `< ${latencyGoalMs(rate)} ms`,
      value: summary.p99Ms,
      unit: 'ms',
      met: summary.p99Ms < latencyGoalMs(rate),
    },
    {
      name: 'rate sustained',
      target: `≥ 95% of ${rate} changes/s`,
      value: summary.achievedRate,
      unit: 'changes/s',
      met: summary.achievedRate >= rate * 0.95,
    },
    {
      name: 'peak RSS',
      target: '< 256 MB',
      value: summary.peakRssMb,
      unit: 'MB',
      met: summary.peakRssMb < 256,
    },
  ];
}

/** Medians over the runs, and the targets they are held to. */
function summarise(
  context: ScenarioContext,
  rate: number,
  stream: PacedStream,
  workloadConnections: number,
  runs: readonly SteadyRun[],
  profile: unknown,
): ScenarioResult {
  const { options } = context;
  const summary = medianOf(runs);
  return {
    scenario: stream.scenario,
    description: `${rate.toLocaleString('en')} changes/s for ${options.steadySeconds} s on the ${stream.source} (50% insert, 35% update, 15% delete; single-row transactions on ${workloadConnections} connections; when a backlog forms, a connection's next message commits up to 16 changes as one transaction)`,
    status: 'ok',
    parameters: {
      rate: rate,
      seconds: options.steadySeconds,
      warmupSeconds: options.steadyWarmupSeconds,
      connections: workloadConnections,
      runs: options.runs,
    },
    runs,
    median: summary,
    targets: steadyTargets(rate, summary),
    ...(profile ? { profile } : {}),
  };
}
