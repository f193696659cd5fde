/**
 * A session the workload sends statements on: a pg Client (CRM) or a mysql2 connection opened
 * with multipleStatements (MES) both fit.
 */
export interface WorkloadSession {
  query(sql: string): Promise<unknown>;
}

/** The workload's single-row statements on its table, in the source's SQL dialect. */
export interface WorkloadStatements {
  /** A new row `key` carrying `probe`. */
  insert(key: number, probe: number): string;
  /** A change to row `key` that sets its probe to `probe`. */
  update(key: number, probe: number): string;
  remove(key: number): string;
}

/** Rows on the target whose probe is at least `fromProbe`: their key and current probe. */
export type ProbePoll = (
  fromProbe: number,
) => Promise<readonly { readonly key: number; readonly probe: number }[]>;

/** One change the workload made, as the latency tracker needs it. */
interface Pending {
  readonly key: number;
  /** performance.now() when the statement was sent. */
  readonly sentAt: number;
  /** performance.now() when its autocommit returned (the source commit), once it has. */
  committedAt: number | undefined;
  /** When the poller first saw it on the target, if before the commit returned. */
  seenAt: number | undefined;
  /** Whether it falls in the measured window. */
  readonly measured: boolean;
}

export interface LatencyTotals {
  /** Commit → visible, in milliseconds, one per measured change seen on the target. */
  readonly latenciesMs: number[];
  /** Sent → visible (includes the source statement and commit), in milliseconds. */
  readonly sentLatenciesMs: number[];
  /** Changes committed in the measured window, by kind. */
  readonly committed: { inserts: number; updates: number; deletes: number };
  /** Measured changes overwritten (or deleted) before the poller saw them: not sampled. */
  superseded: number;
  /** Measured changes never seen on the target within the drain timeout. */
  lost: number;
  /** Source statements that failed, and the first failure. */
  errors: number;
  firstError?: string;
  /** Polls of the target and their mean round trip, for the method's resolution. */
  polls: number;
  pollMs: number;
  /** Most changes waiting on the source connections at once (the driver keeping up or not). */
  maxOutstanding: number;
  /** Source commits that returned inside the measured window: the rate the CRM really took. */
  committedInWindow: number;
  /** Sent → commit returned on the CRM, in milliseconds (measured changes). */
  readonly commitMs: number[];
}

/** Statements per message at most when a backlog forms. */
const maxPerMessage = 16;

/**
 * A paced source workload with commit-to-visibility latency, for either direction. Each insert
 * and update writes a unique, increasing `probe` number; the driver records when its autocommit
 * returned (the commit), and a poller on the target reads new probes every ~2 ms and records when
 * each first became visible there (committed on the target and readable by another session).
 * Keys with a change in flight are never touched again until it returns, so no statement races
 * another on the same row.
 */
export class PacedWorkload {
  private readonly poll: ProbePoll;
  private readonly statements: WorkloadStatements;
  private readonly pending = new Map<number, Pending>();
  private readonly pendingByKey = new Map<number, number[]>();
  private readonly inFlight = new Set<number>();
  private nextId = 1;
  private low = 1;
  private probe = 0;
  private outstanding = 0;
  private readonly idle: WorkloadSession[];
  private readonly waiting: {
    sql: string;
    resolve: (value: unknown) => void;
    reject: (error: unknown) => void;
  }[] = [];
  private windowStart = Number.POSITIVE_INFINITY;
  private windowEnd = Number.POSITIVE_INFINITY;
  private polling = false;
  private pollLoop: Promise<void> = Promise.resolve();
  readonly totals: LatencyTotals = {
    latenciesMs: [],
    sentLatenciesMs: [],
    committed: { inserts: 0, updates: 0, deletes: 0 },
    superseded: 0,
    lost: 0,
    errors: 0,
    polls: 0,
    pollMs: 0,
    maxOutstanding: 0,
    committedInWindow: 0,
    commitMs: [],
  };

  constructor(options: {
    readonly clients: readonly WorkloadSession[];
    readonly statements: WorkloadStatements;
    readonly poll: ProbePoll;
  }) {
    this.poll = options.poll;
    this.statements = options.statements;
    this.idle = [...options.clients];
  }

  /**
   * Sends `rate` changes per second for `seconds`; those sent after `warmupSeconds` are measured.
   * Resolves when every change sent has returned.
   */
  async drive(
    rate: number,
    warmupSeconds: number,
    seconds: number,
  ): Promise<{ windowSeconds: number; measuredChanges: number }> {
    this.startPolling();
    const started = performance.now();
    const windowStart = started + warmupSeconds * 1000;
    const end = windowStart + seconds * 1000;
    this.windowStart = windowStart;
    this.windowEnd = end;
    let issued = 0;
    let measuredChanges = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        const due = Math.floor(((Math.min(now, end) - started) / 1000) * rate) - issued;
        for (let i = 0; i < due; i++) {
          issued++;
          const measured = now >= windowStart;
          if (measured) measuredChanges++;
          this.change(measured);
        }
        if (now >= end) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    while (this.outstanding > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    return { windowSeconds: seconds, measuredChanges };
  }

  /** Waits until every measured change was seen (or `timeoutMs`), then stops polling. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.countMeasuredPending() > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.polling = false;
    await this.pollLoop;
    this.totals.lost = this.countMeasuredPending();
  }

  private countMeasuredPending(): number {
    let count = 0;
    for (const entry of this.pending.values()) if (entry.measured) count++;
    return count;
  }

  /** Runs a statement on the first idle connection, in the order statements were sent. */
  private execute(sql: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ sql, resolve, reject });
      this.pump();
    });
  }

  /**
   * Hands waiting statements to idle connections. When more wait than connections are idle
   * (rates a commit per change cannot reach: this machine's PostgreSQL tops out near 4,500
   * single-row commits/s), a connection takes several as one transaction in one message
   * (`begin; …; commit;`), so the rate holds with fewer, larger commits, and each change's
   * commit time is exactly the one its message returns with.
   */
  private pump(): void {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      const client = this.idle.pop()!;
      const share = Math.ceil(this.waiting.length / (this.idle.length + 1));
      const jobs = this.waiting.splice(0, Math.min(maxPerMessage, share));
      const text =
        jobs.length === 1
          ? jobs[0]!.sql
          : `begin; ${jobs.map((job) => job.sql).join('; ')}; commit;`;
      client
        .query(text)
        .then(
          () => {
            for (const job of jobs) job.resolve(undefined);
          },
          (error: unknown) => {
            for (const job of jobs) job.reject(error);
          },
        )
        .finally(() => {
          this.idle.push(client);
          this.pump();
        });
    }
  }

  private change(measured: boolean): void {
    const live = this.nextId - this.low;
    const r = Math.random();
    if (live >= 100 && r >= 0.5) {
      if (r < 0.85) {
        for (let attempt = 0; attempt < 5; attempt++) {
          const key = this.low + Math.floor(Math.random() * live);
          if (!this.inFlight.has(key)) {
            this.update(key, measured);
            return;
          }
        }
      } else if (!this.inFlight.has(this.low)) {
        this.remove(this.low++, measured);
        return;
      }
    }
    this.insert(measured);
  }

  private track(key: number, measured: boolean): number {
    const probe = ++this.probe;
    this.pending.set(probe, {
      key,
      sentAt: performance.now(),
      committedAt: undefined,
      seenAt: undefined,
      measured,
    });
    const list = this.pendingByKey.get(key);
    if (list) list.push(probe);
    else this.pendingByKey.set(key, [probe]);
    return probe;
  }

  private send(key: number, sql: string, probe: number | undefined, done: () => void): void {
    this.inFlight.add(key);
    this.outstanding++;
    if (this.outstanding > this.totals.maxOutstanding)
      this.totals.maxOutstanding = this.outstanding;
    this.execute(sql)
      .then(
        () => {
          const now = performance.now();
          done();
          if (now >= this.windowStart && now < this.windowEnd) this.totals.committedInWindow++;
          if (probe !== undefined) {
            const sent = this.pending.get(probe)?.sentAt;
            if (sent !== undefined && now >= this.windowStart)
              this.totals.commitMs.push(now - sent);
          }
          if (probe !== undefined) {
            const entry = this.pending.get(probe);
            if (entry) {
              entry.committedAt = now;
              if (entry.seenAt !== undefined) this.resolve(probe, entry.seenAt);
            }
          }
        },
        (error: unknown) => {
          this.totals.errors++;
          this.totals.firstError ??= String((error as Error).message ?? error);
          if (probe !== undefined) this.forget(probe, false);
        },
      )
      .finally(() => {
        this.inFlight.delete(key);
        this.outstanding--;
      });
  }

  private insert(measured: boolean): void {
    const key = this.nextId++;
    const probe = this.track(key, measured);
    this.send(key, this.statements.insert(key, probe), probe, () => {
      if (measured) this.totals.committed.inserts++;
    });
  }

  private update(key: number, measured: boolean): void {
    const probe = this.track(key, measured);
    this.send(key, this.statements.update(key, probe), probe, () => {
      if (measured) this.totals.committed.updates++;
    });
  }

  private remove(key: number, measured: boolean): void {
    // Whatever of this key was not seen yet may vanish before the poller sees it.
    for (const probe of this.pendingByKey.get(key) ?? []) this.forget(probe, true);
    this.send(key, this.statements.remove(key), undefined, () => {
      if (measured) this.totals.committed.deletes++;
    });
  }

  private forget(probe: number, superseded: boolean): void {
    const entry = this.pending.get(probe);
    if (!entry) return;
    this.pending.delete(probe);
    if (superseded && entry.measured) this.totals.superseded++;
    const list = this.pendingByKey.get(entry.key);
    if (list) {
      const rest = list.filter((other) => other !== probe);
      if (rest.length === 0) this.pendingByKey.delete(entry.key);
      else this.pendingByKey.set(entry.key, rest);
    }
  }

  /** A probe seen on the target at `seenAt`: a latency sample once its commit time is known. */
  private resolve(probe: number, seenAt: number): void {
    const entry = this.pending.get(probe);
    if (!entry) return;
    if (entry.committedAt === undefined) {
      entry.seenAt = seenAt;
      return;
    }
    if (entry.measured) {
      this.totals.latenciesMs.push(Math.max(0, seenAt - entry.committedAt));
      this.totals.sentLatenciesMs.push(seenAt - entry.sentAt);
    }
    this.forget(probe, false);
  }

  private startPolling(): void {
    if (this.polling) return;
    this.polling = true;
    this.pollLoop = (async () => {
      while (this.polling) {
        const first = this.pending.keys().next();
        if (first.done) {
          await new Promise((resolve) => setTimeout(resolve, 2));
          continue;
        }
        const began = performance.now();
        const rows = await this.poll(first.value);
        // The statement's snapshot is taken as it starts: what it returns was visible by \`began\`.
        const seenAt = began;
        this.totals.polls++;
        this.totals.pollMs += performance.now() - began;
        for (const { key, probe: seen } of rows) {
          for (const probe of [...(this.pendingByKey.get(key) ?? [])]) {
            if (probe === seen) this.resolve(probe, seenAt);
            else if (probe < seen) this.forget(probe, true);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
  }
}
