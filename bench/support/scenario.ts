import type { BenchDatabases } from './bench-env.js';
import type { BenchOptions } from './bench-options.js';
import type { MillraceCli } from './millrace-cli.js';

/** What every scenario gets. */
export interface ScenarioContext {
  readonly options: BenchOptions;
  readonly cli: MillraceCli;
  readonly dbs: BenchDatabases;
  /** Scratch directory for files (decoded WAL, load files), removed at the end. */
  readonly workDir: string;
  /** Directory for CPU profiles of this scenario (when --cpu-prof). */
  readonly profileDir: string;
  /** One line of progress on stdout. */
  readonly say: (text: string) => void;
}

/** A scenario's figures: per-run measurements, their medians, and how they compare to targets. */
export interface ScenarioResult {
  readonly scenario: string;
  readonly description: string;
  readonly status: 'ok' | 'failed' | 'not run';
  readonly reason?: string;
  /** Why the first attempt failed, when the scenario was retried. */
  readonly retriedAfter?: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly runs: readonly Readonly<Record<string, unknown>>[];
  /** Medians over the runs. */
  readonly median: Readonly<Record<string, number>>;
  readonly targets: readonly TargetCheck[];
  /** Top functions by self time in a profiled run, when --cpu-prof was given. */
  readonly profile?: unknown;
}

export interface TargetCheck {
  readonly name: string;
  readonly target: string;
  readonly value: number;
  readonly unit: string;
  readonly met: boolean;
}

export const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
