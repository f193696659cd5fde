import path from 'node:path';
import type { BenchDatabases } from './bench-env.js';
import { logMessageIs, SpawnedCli } from './millrace-process.js';
import { runCommand } from './shell.js';

/** How the bench calls the millrace CLI: which build, which mappings, which slot. */
export interface MillraceCli {
  /** bin/millrace, started as a user starts millrace (it picks the startup snapshot or main.js). */
  readonly bin: string;
  /** The plain entry, started under node when nodeFlags are given (no snapshot then). */
  readonly main: string;
  readonly mappingsDir: string;
  /** Extra node/V8 flags for every started millrace process (bench --node-flags). */
  readonly nodeFlags?: readonly string[] | undefined;
  /** Directory that keeps each started process's output (bench --keep-logs). */
  readonly logDir?: string | undefined;
}

let started = 0;

/** Environment for a millrace command on the bench pair: nothing from the caller's shell leaks in. */
export function millraceEnv(
  dbs: BenchDatabases,
  cli: MillraceCli,
  names: { slot: string; publication: string },
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CI: '1',
    CRM_DATABASE_URL: dbs.crmUrl,
    MES_DATABASE_URL: dbs.mesUrl,
    MILLRACE_MAPPINGS: cli.mappingsDir,
    MILLRACE_SLOT: names.slot,
    MILLRACE_PUBLICATION: names.publication,
    MILLRACE_LOG_LEVEL: 'info',
    ...extra,
  };
}

/** Runs a millrace command to completion (through bin/millrace) and returns its output. */
export async function millrace(
  cli: MillraceCli,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { allowFailure?: boolean } = {},
) {
  return runCommand(cli.bin, args, { env, allowFailure: options.allowFailure ?? false });
}

/** Starts a long-running millrace command (run, backfill, audit) with RSS sampling. */
export function startMillrace(
  cli: MillraceCli,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  cpuProfDir?: string,
): SpawnedCli {
  const logFile = cli.logDir
    ? path.join(cli.logDir, `${String(++started).padStart(3, '0')}-${args[0] ?? 'cli'}.log`)
    : undefined;
  return new SpawnedCli({
    bin: cli.bin,
    main: cli.main,
    args,
    env,
    ...(cpuProfDir ? { cpuProfDir } : {}),
    ...(logFile ? { logFile } : {}),
    ...(cli.nodeFlags && cli.nodeFlags.length > 0 ? { nodeFlags: cli.nodeFlags } : {}),
  });
}

/** The checkpoint millrace wrote for `slot`, or 0n. */
export async function readCheckpoint(dbs: BenchDatabases, slot: string): Promise<bigint> {
  const [rows] = await dbs.mysql.query(
    'select cast(lsn as char) as lsn from millrace_checkpoints where slot_name = ?',
    [slot],
  );
  const row = (rows as { lsn: string }[])[0];
  return row ? BigInt(row.lsn) : 0n;
}

/**
 * Polls the checkpoint every `intervalMs` until it reaches `lsn`; returns the time it was first
 * seen there (performance.now()). Fails when millrace exits first or after `timeoutMs`.
 */
export function waitForCheckpoint(
  dbs: BenchDatabases,
  slot: string,
  lsn: bigint,
  run: SpawnedCli,
  timeoutMs: number,
  intervalMs = 20,
): Promise<number> {
  return waitUntilReached(
    async () => (await readCheckpoint(dbs, slot)) >= lsn,
    'the checkpoint',
    run,
    timeoutMs,
    intervalMs,
  );
}

/**
 * Polls `reached` every `intervalMs` until it holds; returns the time it was first seen true
 * (performance.now()). Fails when millrace exits first or after `timeoutMs`.
 */
export async function waitUntilReached(
  reached: () => Promise<boolean>,
  what: string,
  run: SpawnedCli,
  timeoutMs: number,
  intervalMs = 20,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await reached()) return performance.now();
    if (!run.running)
      throw new Error(`millrace run exited before ${what} reached the last commit\n${run.tail()}`);
    if (performance.now() > deadline) {
      throw new Error(
        `${what} did not reach the last commit within ${timeoutMs / 1000} s\n${run.tail()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A catch-up as the bench reports it, in seconds from spawn. */
export interface CatchUpTiming {
  readonly seconds: number;
  readonly startupSeconds: number;
  /** Peak RSS, bytes. */
  readonly peak: number;
  readonly exitCode: number | null;
}

/**
 * Times a started `millrace run` from its spawn until `reached` resolves (with the
 * performance.now() at which the end was seen), with its start-up and peak RSS; stops it after.
 */
export async function timeCatchUp(
  run: SpawnedCli,
  reached: () => Promise<number>,
): Promise<CatchUpTiming> {
  try {
    const replicating = run
      .waitForLine(logMessageIs('replicator replicating'), 60_000, 'millrace to start replicating')
      .then(() => performance.now());
    const endedAt = await reached();
    const startedAt = await replicating;
    const peak = run.peakRssBytes();
    const exit = await run.stop();
    return {
      seconds: (endedAt - run.startedAt) / 1000,
      startupSeconds: (startedAt - run.startedAt) / 1000,
      peak: Math.max(peak, run.peakRssBytes()),
      exitCode: exit.code,
    };
  } finally {
    run.kill();
  }
}
