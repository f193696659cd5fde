import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';

/** Peak and current resident set of a process, in bytes, from /proc/<pid>/status. */
export function readMemory(pid: number): { peak: number; current: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { peak: kb('VmHWM'), current: kb('VmRSS') };
  } catch {
    return undefined;
  }
}

export interface SpawnedCliOptions {
  /**
   * bin/millrace: started as a user starts millrace, so the command starts from the startup
   * snapshot where a user's would (README "CLI start-up"), with the same heap cap either way.
   */
  readonly bin: string;
  /** The plain entry (main.js), for a start under extra node flags. */
  readonly main: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Run under `node --cpu-prof`, writing the profile into this directory (same heap cap). */
  readonly cpuProfDir?: string;
  /**
   * More node/V8 flags (bench --node-flags): node then starts main.js itself, heap cap kept, and
   * without the snapshot, whose blob loads only under the flags it was built with.
   */
  readonly nodeFlags?: readonly string[];
  /** Also write the process's stdout and stderr to this file (bench --keep-logs). */
  readonly logFile?: string;
}

export interface CliExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The heap cap of the CLI's shebang line, repeated when node is started explicitly. */
function shebangNodeFlags(main: string): string[] {
  const first = readFileSync(main, 'utf8').split('\n', 1)[0] ?? '';
  return first.split(/\s+/).filter((word) => word.startsWith('--'));
}

/**
 * A spawned millrace command: its stderr log lines (kept for diagnosis and to wait on), its peak
 * RSS sampled from /proc every 100 ms, and a clean stop.
 */
export class SpawnedCli {
  readonly child: ChildProcess;
  readonly startedAt: number;
  readonly exited: Promise<CliExit>;
  private lines: string[] = [];
  private stdoutText = '';
  private partial = '';
  private peakRss = 0;
  private readonly sampler: NodeJS.Timeout;
  private readonly waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] =
    [];

  constructor(options: SpawnedCliOptions) {
    const extra = [
      ...(options.nodeFlags ?? []),
      ...(options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : []),
    ];
    const [command, args] =
      extra.length > 0
        ? [
            process.execPath,
            [...shebangNodeFlags(options.main), ...extra, options.main, ...options.args],
          ]
        : [options.bin, [...options.args]];
    this.startedAt = performance.now();
    this.child = spawn(command, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (options.logFile) {
      const log = createWriteStream(options.logFile);
      this.child.stdout?.pipe(log, { end: false });
      this.child.stderr?.pipe(log, { end: false });
      this.child.on('close', () => log.end());
    }
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdoutText += chunk;
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.onStderr(chunk));
    this.sampler = setInterval(() => this.sample(), 100);
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        clearInterval(this.sampler);
        if (this.partial) this.lines.push(this.partial);
        for (const waiter of this.waiters.splice(0)) waiter.resolve('');
        resolve({ code, signal });
      });
    });
    this.sample();
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Highest VmHWM seen (VmHWM is itself the process's peak so far), in bytes. */
  peakRssBytes(): number {
    this.sample();
    return this.peakRss;
  }

  stdout(): string {
    return this.stdoutText;
  }

  /** The last log lines, for error messages. */
  tail(count = 15): string {
    return this.lines.slice(-count).join('\n');
  }

  logLines(): readonly string[] {
    return this.lines;
  }

  /** Resolves with the first stderr line (past or future) that passes `test`; rejects on timeout or exit. */
  async waitForLine(
    test: (line: string) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return seen;
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.tail()}`)),
        timeoutMs,
      );
      this.waiters.push({
        test,
        resolve: (found) => {
          clearTimeout(timer);
          resolve(found);
        },
      });
    });
    if (line === '') throw new Error(`millrace exited while waiting for ${what}\n${this.tail()}`);
    return line;
  }

  /** SIGTERM, then the exit (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 15_000): Promise<CliExit> {
    this.sample();
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.running) this.child.kill('SIGKILL');
    }, timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** For clean-up paths: no questions asked. */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  private sample(): void {
    const memory = readMemory(this.pid);
    if (memory && memory.peak > this.peakRss) this.peakRss = memory.peak;
  }

  private onStderr(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > 5_000) this.lines.splice(0, 1_000);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const waiter = this.waiters[i]!;
        if (waiter.test(line)) {
          this.waiters.splice(i, 1);
          waiter.resolve(line);
        }
      }
    }
  }
}

/** Whether a pino JSON log line carries this message. */
export function logMessageIs(message: string): (line: string) => boolean {
  return (line) => {
    if (!line.startsWith('{')) return false;
    try {
      return (JSON.parse(line) as { msg?: unknown }).msg === message;
    } catch {
      return false;
    }
  };
}
