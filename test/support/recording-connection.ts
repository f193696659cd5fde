import type { MysqlConnection } from '../../src/mysql/mysql-client.js';

/** One statement the fake connection received, in the order it was sent. */
export interface RecordedStatement {
  readonly sql: string;
  readonly values: readonly unknown[];
}

type Matcher = (statement: RecordedStatement, index: number) => boolean;

interface Failure {
  readonly match: Matcher;
  readonly errno: number;
  times: number;
}

interface Hold {
  readonly match: Matcher;
  readonly reached: () => void;
  released: Promise<void>;
  release: () => void;
}

/** A held statement: `reached` resolves once it was sent; `release()` lets it answer. */
export interface HeldStatement {
  readonly reached: Promise<void>;
  release(): void;
}

/**
 * A stand-in for a mysql2 connection that records every statement sent to it, and can be told
 * to fail a statement with a MySQL errno or to keep a statement pending until released, so the
 * writer's statement order and its behaviour around failures and rollbacks can be tested
 * without a server.
 */
export class RecordingConnection {
  readonly statements: RecordedStatement[] = [];
  private readonly failures: Failure[] = [];
  private readonly holds: Hold[] = [];

  /** The connection as the writer takes it (only `query` is ever called). */
  get connection(): MysqlConnection {
    return this as unknown as MysqlConnection;
  }

  /** The SQL texts sent so far. */
  get sql(): string[] {
    return this.statements.map((statement) => statement.sql);
  }

  /** The next `times` statements matching `match` fail with `errno`, as mysql2 reports it. */
  fail(match: Matcher, errno: number, times = 1): void {
    this.failures.push({ match, errno, times });
  }

  /** The first statement matching `match` stays pending until released. */
  hold(match: Matcher): HeldStatement {
    let reached!: () => void;
    const reachedPromise = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.holds.push({ match, reached, released, release });
    return { reached: reachedPromise, release };
  }

  async query(sql: string, values: readonly unknown[] = []): Promise<[unknown, unknown]> {
    const statement = { sql, values };
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
      throw Object.assign(new Error(`fake failure ${failure.errno} for: ${sql}`), {
        errno: failure.errno,
        code: `ER_FAKE_${failure.errno}`,
      });
    }
    return [{ affectedRows: 0 }, undefined];
  }
}

/** Matches statements whose SQL starts with `prefix`. */
export function startingWith(prefix: string): Matcher {
  return (statement) => statement.sql.startsWith(prefix);
}
