import { spawn } from 'node:child_process';

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawn to exit, in milliseconds. */
  readonly ms: number;
}

/** Runs a command to completion, timing it; rejects on a non-zero exit unless `allowFailure`. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: {
    env?: NodeJS.ProcessEnv;
    input?: string;
    allowFailure?: boolean;
    keepStdout?: boolean;
  } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, [...args], {
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (options.keepStdout !== false && stdout.length < 10_000_000) stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 100_000) stderr += chunk;
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
    child.on('error', reject);
    child.on('close', (code) => {
      const result = { code, stdout, stderr, ms: performance.now() - started };
      if (code !== 0 && !options.allowFailure) {
        reject(
          new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim().slice(-2000)}`),
        );
      } else {
        resolve(result);
      }
    });
  });
}

/** Runs a bash pipeline with `set -o pipefail`, timing it. */
export function runPipeline(script: string, env?: NodeJS.ProcessEnv): Promise<CommandResult> {
  return runCommand('bash', ['-c', `set -euo pipefail\n${script}`], { ...(env ? { env } : {}) });
}

/** Quotes one word for bash. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
