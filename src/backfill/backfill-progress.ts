import cliProgress from 'cli-progress';
import type { Logger } from '../log/logger.js';
import type { BackfillProgress } from './offline-backfill.js';

/** Where progress goes: bars on a terminal, JSON log lines otherwise. */
export interface ProgressView {
  update(progress: BackfillProgress): void;
  /** The mapping finished (its bar completes; a final log line). */
  finish(progress: BackfillProgress): void;
  close(): void;
}

interface ProgressViewOptions {
  /** Bars (a person watches) or periodic log lines (a log collector reads). */
  readonly interactive: boolean;
  readonly stream: NodeJS.WritableStream;
  readonly logger: Logger;
  /** Time between two log lines of one mapping, in milliseconds. */
  readonly logIntervalMs?: number;
  /** The mappings that will show, so their bars line up. */
  readonly mappings?: readonly string[];
}

/** Longest mapping name shown in full on a bar. */
const maxLabel = 24;

function label(name: string): string {
  return name.length > maxLabel ? `${name.slice(0, maxLabel - 1)}…` : name;
}

/** Rows per second over the last few seconds, and the time left at that pace. */
class Pace {
  private readonly samples: { at: number; rows: number }[] = [];

  observe(rows: number, now = Date.now()): void {
    this.samples.push({ at: now, rows });
    while (this.samples.length > 2 && now - this.samples[0]!.at > 10_000) this.samples.shift();
  }

  rate(): number {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at <= first.at) return 0;
    return ((last.rows - first.rows) * 1000) / (last.at - first.at);
  }

  /** Seconds left to read `total` rows; null when unknown. */
  eta(done: number, total: number | null): number | null {
    const rate = this.rate();
    if (total === null || rate <= 0) return null;
    return Math.max(0, Math.round((total - done) / rate));
  }
}

function formatSeconds(seconds: number | null): string {
  if (seconds === null) return '?';
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** Progress of the source scan: rows read against the planner's estimate (pg_class.reltuples). */
export function createProgressView(options: ProgressViewOptions): ProgressView {
  return options.interactive ? new BarView(options) : new LogView(options);
}

class BarView implements ProgressView {
  private readonly multibar: cliProgress.MultiBar;
  private readonly bars = new Map<string, { bar: cliProgress.SingleBar; pace: Pace }>();
  private readonly width: number;
  private closed = false;

  constructor(options: ProgressViewOptions) {
    this.width = Math.max(8, ...(options.mappings ?? []).map((name) => label(name).length));
    this.multibar = new cliProgress.MultiBar(
      {
        stream: options.stream,
        format:
          '{name} |{bar}| {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {left} | {phase}',
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        barsize: 30,
        fps: 5,
        // Without a TTY cli-progress prints nothing; the caller picks LogView there anyway.
        noTTYOutput: false,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(progress: BackfillProgress): void {
    let entry = this.bars.get(progress.mapping);
    const read = progress.counters.rowsRead;
    const total = Math.max(progress.rowsTotal ?? read, read, 1);
    if (!entry) {
      const name = label(progress.mapping);
      entry = {
        bar: this.multibar.create(total, read, {
          name: name.padEnd(Math.max(this.width, name.length)),
          rate: 0,
          left: '?',
          phase: progress.phase,
        }),
        pace: new Pace(),
      };
      this.bars.set(progress.mapping, entry);
    }
    entry.pace.observe(read);
    entry.bar.setTotal(total);
    entry.bar.update(read, {
      rate: Math.round(entry.pace.rate()),
      left: formatSeconds(entry.pace.eta(read, total)),
      phase:
        progress.phase === 'prune'
          ? `pruning, ${progress.counters.rowsRemoved} removed`
          : 'copying',
    });
  }

  finish(progress: BackfillProgress): void {
    this.update(progress);
    const entry = this.bars.get(progress.mapping);
    const read = progress.counters.rowsRead;
    entry?.bar.setTotal(Math.max(read, 1));
    entry?.bar.update(Math.max(read, 1), { left: '0s', phase: 'done' });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.multibar.stop();
  }
}

class LogView implements ProgressView {
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly state = new Map<string, { pace: Pace; lastLog: number }>();

  constructor(options: ProgressViewOptions) {
    this.logger = options.logger;
    this.intervalMs = options.logIntervalMs ?? 5_000;
  }

  update(progress: BackfillProgress): void {
    let entry = this.state.get(progress.mapping);
    if (!entry) {
      entry = { pace: new Pace(), lastLog: Date.now() };
      this.state.set(progress.mapping, entry);
    }
    entry.pace.observe(progress.counters.rowsRead);
    if (Date.now() - entry.lastLog < this.intervalMs) return;
    entry.lastLog = Date.now();
    this.log(progress, entry.pace, 'backfill progress');
  }

  finish(progress: BackfillProgress): void {
    const entry = this.state.get(progress.mapping);
    this.log(progress, entry?.pace ?? new Pace(), 'backfill done');
  }

  close(): void {}

  private log(progress: BackfillProgress, pace: Pace, message: string): void {
    const { counters } = progress;
    this.logger.info(
      {
        mapping: progress.mapping,
        phase: progress.phase,
        rowsRead: counters.rowsRead,
        rowsCopied: counters.rowsCopied,
        rowsRemoved: counters.rowsRemoved,
        deadLetters: counters.deadLetters,
        rowsTotal: progress.rowsTotal,
        rowsPerSecond: Math.round(pace.rate()),
        etaSeconds: pace.eta(counters.rowsRead, progress.rowsTotal),
      },
      message,
    );
  }
}

/** One line of the summary table printed at the end. */
export interface BackfillSummary {
  readonly mapping: string;
  /** Who wrote the rows: this command, or the running replicator in-stream. */
  readonly mode: 'offline' | 'online' | 'skipped';
  readonly rowsCopied: number;
  readonly deadLetters: number;
  readonly rowsRemoved: number;
  readonly seconds: number;
  /** Rows copied per second by this invocation (a resumed run counts only what it copied). */
  readonly rowsPerSecond: number;
}

/** The summary table: mapping, rows copied, dead letters, removed, seconds, rows/s. */
export function formatSummary(rows: readonly BackfillSummary[]): string {
  const header = ['mapping', 'mode', 'rows copied', 'dead letters', 'removed', 'seconds', 'rows/s'];
  const body = rows.map((row) => [
    row.mapping,
    row.mode,
    String(row.rowsCopied),
    String(row.deadLetters),
    String(row.rowsRemoved),
    row.seconds.toFixed(1),
    String(Math.round(row.rowsPerSecond)),
  ]);
  const widths = header.map((title, index) =>
    Math.max(title.length, ...body.map((cells) => cells[index]!.length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, index) =>
        index === 0 || index === 1 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...body.map(line)].join('\n');
}
