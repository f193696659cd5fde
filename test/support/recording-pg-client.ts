import type { PgClient } from '../../src/postgres/pg-client.js';

/** One statement the fake client received, in the order it was sent. */
export interface RecordedPgStatement {
  readonly text: string;
  readonly values: readonly unknown[];
}

type Matcher = (statement: RecordedPgStatement, index: number) => boolean;

interface Failure {
  readonly match: Matcher;
  readonly sqlState: string;
  times: number;
}

interface Hold {
  readonly match: Matcher;
  readonly reached: () => void;
  readonly released: Promise<void>;
}

/** A held statement: `reached` resolves once it was sent; `release()` lets it answer. */
export interface HeldPgStatement {
  readonly reached: Promise<void>;
  release(): void;
}

/**
 * A stand-in for a pg client that records every statement sent to it, and can be told to fail a
 * statement with a SQLSTATE or to keep one pending until released, so the CRM sink's statement
 * order and its behaviour around failures and rollbacks can be tested without a server.
 */
export class RecordingPgClient {
  readonly statements: RecordedPgStatement[] = [];
  private readonly failures: Failure[] = [];
  private readonly holds: Hold[] = [];

  /** The client as the sink takes it. */
  get client(): PgClient {
    return this as unknown as PgClient;
  }

  /** The SQL texts sent so far. */
  get texts(): string[] {
    return this.statements.map((statement) => statement.text);
  }

  /** The next `times` statements matching `match` fail with `sqlState`, as pg reports it. */
  fail(match: Matcher, sqlState: string, times = 1): void {
    this.failures.push({ match, sqlState, times });
  }

  /** The first statement matching `match` stays pending until released. */
  hold(match: Matcher): HeldPgStatement {
    let reached!: () => void;
    const reachedPromise = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.holds.push({ match, reached, released });
    return { reached: reachedPromise, release };
  }

  async query(
    text: string,
    values: readonly unknown[] = [],
  ): Promise<{ rows: unknown[]; rowCount: number; command: string }> {
    const statement = { text, values };
    const index = this.statements.length;
    this.statements.push(statement);
    const hold = this.holds.find((candidate) => candidate.match(statement, index));
    if (hold) {
      this.holds.splice(this.holds.indexOf(hold), 1);
      hold.reached();
      await hold.released;
    }
    const failure = this.failures.find(
      (candidate) => candidate.times > 0 && candidate.match(statement, index),
    );
    if (failure) {
      failure.times--;
      throw Object.assign(new Error(`fake failure ${failure.sqlState} for: ${text}`), {
        code: failure.sqlState,
      });
    }
    return { rows: [], rowCount: 0, command: text.split(' ')[0]!.toUpperCase() };
  }

  async end(): Promise<void> {}
}
