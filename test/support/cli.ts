import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const cliPath = path.resolve('dist/src/cli/main.js');

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Environment for a spawned CLI: none of the caller's millrace variables leak in. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, CI: '1' };
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

/** Starts the built CLI (in `cwd` when given); the caller owns the process (see `finished`). */
export function startCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = cliEnv(),
  cwd?: string,
): ChildProcess {
  // Run through its shebang, as the installed `millrace` bin runs (it carries the heap cap).
  return spawn(cliPath, [...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
  });
}

/** Collects a started CLI's output until it exits. */
export function finished(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs the built CLI to completion (in `cwd` when given). */
export function runCli(
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<CliResult> {
  return finished(startCli(args, env, cwd));
}

/** What a traced CLI process loaded: see `runCliTracingPackages`. */
export interface CliTrace {
  /** npm packages (scoped ones as `@scope/name`), sorted. */
  readonly packages: readonly string[];
  /** Lazily loaded globals it read (Node's fetch classes), sorted. */
  readonly globals: readonly string[];
}

/**
 * Runs the built CLI with module-trace.ts preloaded, and returns with its result the npm packages
 * the process loaded and the lazy globals it touched.
 */
export async function runCliTracingPackages(
  args: readonly string[],
  env: NodeJS.ProcessEnv = cliEnv(),
  cwd?: string,
): Promise<CliResult & CliTrace> {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-trace-'));
  try {
    const trace = path.join(dir, 'modules.txt');
    const preload = pathToFileURL(path.resolve('dist/test/support/module-trace.js')).href;
    const traced = { ...env, MILLRACE_MODULE_TRACE: trace, NODE_OPTIONS: `--import=${preload}` };
    const result = await runCli(args, traced, cwd);
    const text = readFileSync(trace, 'utf8');
    const names = text.match(/node_modules\/(@[^/]+\/)?[^/]+/g) ?? [];
    const packages = [...new Set(names.map((name) => name.slice('node_modules/'.length)))];
    const reads = text.match(/^global:\w+$/gm) ?? [];
    const globals = [...new Set(reads.map((line) => line.slice('global:'.length)))];
    return { ...result, packages: packages.sort(), globals: globals.sort() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
