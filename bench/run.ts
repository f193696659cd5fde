/**
 * `npm run bench`: millrace against the raw tools on this machine's services. Each scenario gets a
 * fresh database pair (mrb_*), runs --runs times with the raw baseline measured in the same run,
 * and reports medians; everything it creates is dropped at the end, on failure too.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAudit } from './scenarios/audit.js';
import { runBackfill } from './scenarios/backfill.js';
import { runCatchup } from './scenarios/catchup.js';
import { runReturnCatchup } from './scenarios/return-catchup.js';
import { runReturnSteady } from './scenarios/return-steady.js';
import { runSteady } from './scenarios/steady.js';
import {
  type BenchDatabases,
  benchServers,
  type CliCopy,
  copyCli,
  createBenchDatabases,
  sweepBenchLeftovers,
} from './support/bench-env.js';
import {
  type BenchOptions,
  parseBenchOptions,
  type ScenarioName,
  usage,
} from './support/bench-options.js';
import { renderMarkdown } from './support/bench-report.js';
import { writeBenchMappings } from './support/bench-schema.js';
import { millrace, millraceEnv } from './support/millrace-cli.js';
import { toolVersions } from './support/raw-tools.js';
import type { ScenarioContext, ScenarioResult } from './support/scenario.js';
import { runCommand } from './support/shell.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const say = (text: string) => process.stdout.write(`${text}\n`);

async function machine() {
  const servers = benchServers();
  const pgVersion = (
    await runCommand(
      'psql',
      [
        '-h',
        servers.pgUrl.hostname,
        '-p',
        servers.pgUrl.port || '5432',
        '-U',
        decodeURIComponent(servers.pgUrl.username || 'postgres'),
        '-d',
        'postgres',
        '-Atc',
        'select version()',
      ],
      { allowFailure: true },
    )
  ).stdout.trim();
  const mysqlVersion = (
    await runCommand(
      'mysql',
      [
        '-h',
        servers.mysqlUrl.hostname,
        '-P',
        servers.mysqlUrl.port || '3306',
        '-u',
        decodeURIComponent(servers.mysqlUrl.username || 'root'),
        '-N',
        '-e',
        'select version()',
      ],
      { allowFailure: true },
    )
  ).stdout.trim();
  const packageJson = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
    version: string;
  };
  const git = async (args: string[]) =>
    (await runCommand('git', ['-C', repo, ...args], { allowFailure: true })).stdout.trim();
  const changedSources = (await git(['status', '--porcelain', 'src']))
    .split('\n')
    .filter(Boolean).length;
  return {
    host: os.hostname(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    loadAverageAtStart: os.loadavg().map((value) => Math.round(value * 100) / 100),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    millrace: packageJson.version,
    commit: `${(await git(['rev-parse', '--short', 'HEAD'])) || 'unknown'}${changedSources > 0 ? ` + ${changedSources} uncommitted src files` : ''}`,
    postgres: pgVersion,
    mysql: mysqlVersion,
    tools: await toolVersions(),
  };
}

const labels: Record<ScenarioName, string> = {
  'catchup-rows': 'catchrows',
  'catchup-txn': 'catchtxn',
  steady: 'steady',
  backfill: 'backfill',
  audit: 'audit',
  'return-catchup': 'retcatch',
  'return-steady': 'retsteady',
};

/** One scenario to run; the steady state runs once per rate. */
interface Job {
  readonly name: ScenarioName;
  readonly rate?: number;
}

function jobsOf(options: BenchOptions): Job[] {
  return options.scenarios.flatMap((name): Job[] => {
    if (name === 'steady') return options.steadyRates.map((rate) => ({ name, rate }));
    if (name === 'return-steady') return options.returnSteadyRates.map((rate) => ({ name, rate }));
    return [{ name }];
  });
}

async function runScenario(
  { name, rate }: Job,
  options: BenchOptions,
  { bin, main }: CliCopy,
  mappingsDir: string,
  track: (dbs: BenchDatabases) => void,
  profileRoot: string,
): Promise<ScenarioResult> {
  const dbs = await createBenchDatabases(benchServers(), labels[name]);
  track(dbs);
  const workDir = mkdtempSync(path.join(tmpdir(), `millrace-bench-work-${name}-`));
  // One directory per job: the steady state's rates must not read each other's profiles.
  const profileDir = path.join(profileRoot, rate ? `${name}-${rate}` : name);
  const logDir = options.keepLogs ? path.join(path.dirname(profileRoot), 'logs', name) : undefined;
  if (logDir) mkdirSync(logDir, { recursive: true });
  const cli = { bin, main, mappingsDir, nodeFlags: options.nodeFlags, logDir };
  try {
    // Control tables on the bench MES database (no staging migrations: scenarios make their table).
    await millrace(
      cli,
      ['migrate', '--migrations', path.join(workDir, 'no-migrations')],
      millraceEnv(dbs, cli, { slot: 'unused', publication: 'unused' }),
    );
    const context: ScenarioContext = { options, cli, dbs, workDir, profileDir, say };
    switch (name) {
      case 'catchup-rows':
        return await runCatchup(context, 'rows');
      case 'catchup-txn':
        return await runCatchup(context, 'txn');
      case 'steady':
        return await runSteady(context, rate ?? options.steadyRates[0]!);
      case 'backfill':
        return await runBackfill(context);
      case 'audit':
        return await runAudit(context);
      case 'return-catchup':
        return await runReturnCatchup(context);
      case 'return-steady':
        return await runReturnSteady(context, rate ?? options.returnSteadyRates[0]!);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
    // If the servers are away now, the final clean-up (or the next bench's sweep) retries.
    await dbs
      .drop()
      .catch((error: unknown) => say(`  could not drop ${dbs.name} yet: ${String(error)}`));
  }
}

/** `--render FILE.json`: the Markdown summary of an earlier run again (after a renderer fix). */
function renderAgain(jsonFile: string): number {
  const file = path.resolve(jsonFile);
  const markdown = renderMarkdown(JSON.parse(readFileSync(file, 'utf8')));
  writeFileSync(file.replace(/\.json$/, '.md'), markdown);
  say(markdown);
  return 0;
}

/** The options, or the exit code when there are none to run with (--help, a bad flag). */
function readOptions(): BenchOptions | number {
  try {
    return parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    const message = (error as Error).message;
    process.stderr.write(message === 'help' ? `${usage}\n` : `bench: ${message}\n${usage}\n`);
    return message === 'help' ? 0 : 2;
  }
}

/** Where the results JSON goes, and the temp directory for profiles and logs. */
function outputPaths(options: BenchOptions, startedAt: Date): { out: string; profileRoot: string } {
  const stamp = startedAt.toISOString().slice(0, 19).replace(/:/g, '-');
  const resultsDir = path.join(repo, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const out = options.out ? path.resolve(options.out) : path.join(resultsDir, `${stamp}.json`);
  // CPU profiles and logs are large and not for the repository: they stay in the temp directory
  // (the results JSON keeps the profile summaries and says where the files are).
  return { out, profileRoot: path.join(tmpdir(), `millrace-bench-${stamp}`, 'profiles') };
}

/**
 * On SIGINT/SIGTERM: drops the bench databases still live, cleans up, exits 130. Returns whether
 * a signal came, for the job loop to stop at.
 */
function dropOnSignal(live: ReadonlySet<BenchDatabases>, cleanUp: () => void): () => boolean {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`bench: ${signal}: dropping the bench databases and slots\n`);
    void Promise.allSettled([...live].map((dbs) => dbs.drop())).then(() => {
      cleanUp();
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => interrupted;
}

/** What every job shares: the copy of the CLI, the mappings, where profiles go, the live databases. */
interface JobSetting {
  readonly options: BenchOptions;
  readonly cliCopy: CliCopy;
  readonly mappingsDir: string;
  readonly profileRoot: string;
  readonly live: Set<BenchDatabases>;
  readonly interrupted: () => boolean;
}

function sayTargets(result: ScenarioResult): void {
  if (result.status === 'not run') say(`  not run: ${result.reason}`);
  for (const check of result.targets) {
    say(
      `  ${check.met ? 'met   ' : 'MISSED'} ${check.name}: ${check.value} ${check.unit} (target ${check.target})`,
    );
  }
}

function failedResult(
  name: ScenarioName,
  reason: string,
  firstFailure: string | undefined,
): ScenarioResult {
  return {
    scenario: name,
    description: '',
    status: 'failed',
    reason,
    ...(firstFailure ? { retriedAfter: firstFailure } : {}),
    parameters: {},
    runs: [],
    median: {},
    targets: [],
  };
}

/**
 * One job's result. The servers are shared: a restart or a killed session by someone else fails
 * a scenario that is not at fault. One retry, on fresh databases; both reasons are kept.
 * Undefined when a signal stopped it before a result.
 */
async function runJob(job: Job, setting: JobSetting): Promise<ScenarioResult | undefined> {
  let firstFailure: string | undefined;
  for (let attempt = 1; attempt <= 2 && !setting.interrupted(); attempt++) {
    try {
      const result = await runScenario(
        job,
        setting.options,
        setting.cliCopy,
        setting.mappingsDir,
        (dbs) => setting.live.add(dbs),
        setting.profileRoot,
      );
      sayTargets(result);
      return firstFailure ? { ...result, retriedAfter: firstFailure } : result;
    } catch (error) {
      const reason = (error as Error).message ?? String(error);
      say(`  failed${attempt === 1 ? ' (retrying once)' : ''}: ${reason}`);
      if (attempt === 1 && !setting.interrupted()) {
        firstFailure = reason;
        continue;
      }
      return failedResult(job.name, reason, firstFailure);
    }
  }
  return undefined;
}

/** Runs the jobs in order, saving the results after each; stops at a signal. */
async function runJobs(
  setting: JobSetting,
  results: ScenarioResult[],
  save: () => void,
): Promise<void> {
  for (const job of jobsOf(setting.options)) {
    say(`\n${job.name}${job.rate ? ` at ${job.rate.toLocaleString('en')} changes/s` : ''}`);
    const began = performance.now();
    const result = await runJob(job, setting);
    if (result) results.push(result);
    save();
    say(`  (${Math.round((performance.now() - began) / 1000)} s)`);
    if (setting.interrupted()) break;
  }
}

async function main(): Promise<number> {
  if (process.argv[2] === '--render' && process.argv[3]) return renderAgain(process.argv[3]);
  const options = readOptions();
  if (typeof options === 'number') return options;
  const startedAt = new Date();
  const { out, profileRoot } = outputPaths(options, startedAt);

  const swept = await sweepBenchLeftovers(benchServers());
  if (swept.length > 0) say(`dropped leftovers of an earlier bench: ${swept.join(', ')}`);

  const cliCopy = copyCli(repo);
  const mappingsDir = writeBenchMappings();
  const cleanUp = () => {
    cliCopy.remove();
    rmSync(mappingsDir, { recursive: true, force: true });
  };
  const live = new Set<BenchDatabases>();
  const interrupted = dropOnSignal(live, cleanUp);

  const results: ScenarioResult[] = [];
  const facts = await machine();
  say(
    `millrace bench: ${options.scenarios.join(', ')}; scale ${options.scale}, ${options.runs} runs each`,
  );
  say(
    `machine: ${facts.cpus} CPUs, ${facts.memoryGb} GB, load ${facts.loadAverageAtStart.join(' ')}; node ${facts.node}`,
  );
  const report = () => ({
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    options,
    artifacts: options.cpuProf || options.keepLogs ? path.dirname(profileRoot) : undefined,
    machine: {
      ...facts,
      loadAverageAtEnd: os.loadavg().map((value) => Math.round(value * 100) / 100),
    },
    results,
  });
  // Written after every scenario, so a run cut short still leaves what it measured.
  const save = () => writeFileSync(out, `${JSON.stringify(report(), null, 2)}\n`);
  const setting = { options, cliCopy, mappingsDir, profileRoot, live, interrupted };
  try {
    await runJobs(setting, results, save);
  } finally {
    for (const dbs of live) await dbs.drop().catch(() => undefined);
    cleanUp();
  }

  save();
  const markdown = renderMarkdown(report());
  writeFileSync(out.replace(/\.json$/, '.md'), markdown);
  say(`\n${markdown}`);
  say(`results: ${path.relative(process.cwd(), out)} (and .md)`);
  if (options.cpuProf || options.keepLogs) say(`profiles and logs: ${path.dirname(profileRoot)}`);
  return results.some((result) => result.status === 'failed') ? 1 : 0;
}

process.exitCode = await main();
