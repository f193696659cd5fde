/** `npm run bench -- [flags]`: what to run and how big. Parsed once, then frozen. */
export interface BenchOptions {
  /** Scenario names to run, in order. */
  readonly scenarios: readonly ScenarioName[];
  /** Multiplies every row/change count (1 = the 1M figures). */
  readonly scale: number;
  /** Measured runs per scenario; figures are their medians. */
  readonly runs: number;
  /** Steady state: paced changes per second; the scenario runs once per rate. */
  readonly steadyRates: readonly number[];
  /** Return steady state: its rates, 1,000 changes/s unless --steady-rate names others. */
  readonly returnSteadyRates: readonly number[];
  /** Steady state: measured duration, in seconds. */
  readonly steadySeconds: number;
  /** Steady state: changes before the measured window, excluded from the figures, in seconds. */
  readonly steadyWarmupSeconds: number;
  /** After the measured runs, one more run per scenario with `node --cpu-prof`, summarised. */
  readonly cpuProf: boolean;
  /** Where the JSON results go (default bench/results/<date>.json). */
  readonly out: string | undefined;
  /** Extra node/V8 flags for the started millrace processes (experiments: GC flags and the like). */
  readonly nodeFlags: readonly string[];
  /** Keep every millrace process's output under bench/results/logs/<date>/. */
  readonly keepLogs: boolean;
}

export const scenarioNames = [
  'catchup-rows',
  'catchup-txn',
  'steady',
  'backfill',
  'audit',
  'return-catchup',
  'return-steady',
] as const;
export type ScenarioName = (typeof scenarioNames)[number];

/** Short names accepted by --scenarios, each standing for one or more scenarios. */
const aliases: Readonly<Record<string, readonly ScenarioName[]>> = {
  all: scenarioNames,
  catchup: ['catchup-rows', 'catchup-txn'],
  return: ['return-catchup', 'return-steady'],
};

export const usage = `usage: npm run bench -- [options]
  --scenarios LIST      comma-separated: catchup (= catchup-rows,catchup-txn), catchup-rows,
                        catchup-txn, steady, backfill, audit, return (= return-catchup,
                        return-steady: the MES -> CRM path), all (default all)
  --scale N             multiply the 1M row/change counts, e.g. 0.1 for a quick run (default 1)
  --runs N              measured runs per scenario, medians reported (default 3)
  --steady-rate LIST    steady state: changes per second, comma-separated rates each run as
                        a scenario of its own (default 2000,10000; return-steady 1000)
  --steady-seconds N    steady state: measured seconds per run (default 60)
  --steady-warmup N     steady state: unmeasured seconds before each run (default 3)
  --cpu-prof            one extra run per scenario under node --cpu-prof (main.js, without the
                        startup snapshot); top functions reported
  --out FILE            results JSON (default bench/results/<date>.json)
  --node-flags TEXT     extra node/V8 flags for the millrace processes it starts (run,
                        backfill, audit), for experiments: "--max-semi-space-size=32",
                        "--trace-gc" (with --keep-logs); recorded in the results. Without
                        it millrace starts through bin/millrace, as a user's does (audit and
                        backfill from the startup snapshot); with it node starts main.js
                        (heap cap kept), so those two start without the snapshot (as under
                        NODE_OPTIONS) and their figures include the slower start
  --render FILE.json    only re-write the Markdown summary of an earlier results file
  --keep-logs           keep each millrace process's output in bench/results/logs/<date>/
Environment: CRM_DATABASE_URL / MES_DATABASE_URL name the servers (their database part is
ignored: every run creates and drops its own mrb_* databases and slots).`;

function positive(flag: string, text: string | undefined, integer: boolean): number {
  const value = Number(text);
  if (
    text === undefined ||
    !Number.isFinite(value) ||
    value <= 0 ||
    (integer && !Number.isInteger(value))
  ) {
    throw new Error(
      `${flag} needs a positive ${integer ? 'whole ' : ''}number (got '${text ?? ''}')`,
    );
  }
  return value;
}

/** `--scenarios a,b`: known names and aliases, in the order the bench runs them. */
function parseScenarios(text: string | undefined): ScenarioName[] {
  const names = (text ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const picked = new Set<ScenarioName>();
  for (const name of names) {
    const expanded =
      aliases[name] ??
      (scenarioNames.includes(name as ScenarioName) ? [name as ScenarioName] : undefined);
    if (!expanded)
      throw new Error(
        `unknown scenario '${name}' (known: ${[...Object.keys(aliases), ...scenarioNames].join(', ')})`,
      );
    for (const scenario of expanded) picked.add(scenario);
  }
  if (picked.size === 0) throw new Error('--scenarios needs at least one name');
  return scenarioNames.filter((name) => picked.has(name));
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  let scenarios: ScenarioName[] = [...scenarioNames];
  let scale = 1;
  let runs = 3;
  let steadyRates: number[] | undefined;
  let steadySeconds = 60;
  let steadyWarmupSeconds = 3;
  let cpuProf = false;
  let out: string | undefined;
  let nodeFlags: string[] = [];
  let keepLogs = false;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.includes('=')
      ? argv[i]!.split(/=(.*)/s, 2)
      : [argv[i]!, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--scenarios':
        scenarios = parseScenarios(value());
        break;
      case '--scale':
        scale = positive(flag, value(), false);
        break;
      case '--runs':
        runs = positive(flag, value(), true);
        break;
      case '--steady-rate':
        steadyRates = (value() ?? '').split(',').map((rate) => positive(flag, rate.trim(), true));
        break;
      case '--steady-seconds':
        steadySeconds = positive(flag, value(), false);
        break;
      case '--steady-warmup':
        steadyWarmupSeconds = Number(value());
        if (!(steadyWarmupSeconds >= 0))
          throw new Error('--steady-warmup needs a number of seconds ≥ 0');
        break;
      case '--cpu-prof':
        cpuProf = true;
        break;
      case '--out':
        out = value();
        if (!out) throw new Error('--out needs a file name');
        break;
      case '--node-flags':
        nodeFlags = (value() ?? '').split(/\s+/).filter(Boolean);
        if (nodeFlags.length === 0) throw new Error('--node-flags needs at least one flag');
        break;
      case '--keep-logs':
        keepLogs = true;
        break;
      case '--help':
      case '-h':
        throw new Error('help');
      default:
        throw new Error(`unknown option '${flag}'`);
    }
  }
  return Object.freeze({
    scenarios,
    scale,
    runs,
    steadyRates: steadyRates ?? [2000, 10_000],
    returnSteadyRates: steadyRates ?? [1000],
    steadySeconds,
    steadyWarmupSeconds,
    cpuProf,
    out,
    nodeFlags,
    keepLogs,
  });
}
