import type { Readable } from 'node:stream';
import type { Connection as CoreConnection } from 'mysql2';
import mysql from 'mysql2/promise';
import { watchConnection } from '../errors/watch-connection.js';
import type { Logger } from '../log/logger.js';
import { connectWithRetry } from '../util/connect-with-retry.js';

/**
 * The slice of a mysql2 promise Connection millrace uses, as a structural type: every module
 * that talks to the MES takes this rather than the driver's class, so tests hand in fakes
 * without casts and only this file knows the driver.
 */
export interface MysqlConnection {
  query(sql: string, values?: unknown[]): Promise<[unknown, unknown]>;
  /** Array rows (`rowsAsArray`), for large reads. */
  query(
    options: { readonly sql: string; readonly rowsAsArray: true },
    values?: unknown[],
  ): Promise<[unknown, unknown]>;
  /** LOAD DATA LOCAL INFILE: the driver sends what the factory's stream yields as the file. */
  query(options: {
    readonly sql: string;
    readonly infileStreamFactory: (path: string) => Readable;
  }): Promise<[unknown, unknown]>;
  /** The statement as the driver would send it: for measuring a row against max_allowed_packet. */
  format(sql: string, values: unknown[]): string;
  /**
   * Only on a connection opened with `multipleStatements`: sends the statements as one packet,
   * one round trip. The server runs them in order and stops at the first that fails; the
   * rejection's error then tells how many ran before it (`statementsRunBefore`).
   */
  queryAll?(statements: readonly string[]): Promise<void>;
  /** The server's id of this session (CONNECTION_ID()): who holds a lock. */
  readonly threadId: number;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
  end(): Promise<void>;
}

interface TargetUrlParts {
  readonly database: string;
  readonly options: mysql.ConnectionOptions;
}

/**
 * Connection options from a `mysql://user:password@host:port/database?ssl=…` URL. Values come
 * back as strings (DECIMAL, BIGINT, DATETIME), never floats or Dates: the audit compares exact
 * text forms, and JSON columns come back as text on MySQL 8 as on MariaDB.
 */
export function parseTargetUrl(url: string): TargetUrlParts {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const ssl = parsed.searchParams.get('ssl') ?? parsed.searchParams.get('sslmode');
  const options: mysql.ConnectionOptions = {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username || 'root'),
    password: decodeURIComponent(parsed.password),
    charset: 'utf8mb4',
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    dateStrings: true,
    typeCast: (field, next) => (field.type === 'JSON' ? field.string('utf8') : next()),
    // MariaDB reports JSON columns as BLOB: without this mysql2 would parse them, and a stored
    // JSON null or "123" could not be told from SQL NULL or 123.
    jsonStrings: true,
    // mysql2 scans every statement for placeholders, values or not: the writer's statements
    // carry theirs inline as escaped literals and are sent as they are.
    queryFormat: (sql: string, values: Parameters<typeof mysql.format>[1]) =>
      values === undefined || (Array.isArray(values) && values.length === 0)
        ? sql
        : mysql.format(sql, values, false, 'Z'),
    ...(ssl && !['false', 'disable', '0', 'off', 'no'].includes(ssl.toLowerCase())
      ? { ssl: { rejectUnauthorized: ssl === 'verify' || ssl === 'verify-full' } }
      : {}),
  };
  return { database, options };
}

interface ConnectTargetOptions {
  readonly url: string;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Connect without selecting the database (migrate creates it). */
  readonly withoutDatabase?: boolean;
  /**
   * Allow several statements in one packet (`queryAll`). Only for the writer's session: every
   * value it sends is escaped, by the driver's placeholders or as the writer's own literals, so
   * no text from the source can end a statement and start another.
   */
  readonly multipleStatements?: boolean;
}

/** For an error `queryAll` rejected with: how many of its statements ran before the failing one. */
const ranBefore = new WeakMap<object, number>();

export function statementsRunBefore(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null ? ranBefore.get(error) : undefined;
}

/**
 * `queryAll` on the driver's own connection: its query emits 'fields' once for every statement
 * whose result came back (an OK packet or a result set), which counts those that ran.
 */
function queryAllOn(core: CoreConnection): (statements: readonly string[]) => Promise<void> {
  return (statements) =>
    new Promise<void>((resolve, reject) => {
      let ran = 0;
      const query = core.query(statements.join(';\n'), (error: unknown) => {
        if (error === null || error === undefined) return resolve();
        if (typeof error === 'object') ranBefore.set(error, ran);
        reject(error);
      });
      query.on('fields', () => {
        ran++;
      });
    });
}

/** One connection to the MES, retried for the connect timeout. */
export function connectTarget(options: ConnectTargetOptions): Promise<MysqlConnection> {
  const { database, options: connection } = parseTargetUrl(options.url);
  return connectWithRetry({
    what: 'MES MySQL',
    side: 'mes',
    url: options.url,
    option: '--target / MES_DATABASE_URL',
    code: 'TARGET_UNREACHABLE',
    timeoutMs: options.timeoutMs,
    logger: options.logger,
    connect: async () => {
      const created: mysql.Connection & Pick<MysqlConnection, 'queryAll'> =
        await mysql.createConnection({
          ...connection,
          ...(options.withoutDatabase ? {} : { database }),
          connectTimeout: Math.max(1_000, Math.min(options.timeoutMs, 10_000)),
          multipleStatements: options.multipleStatements === true,
        });
      if (options.multipleStatements) {
        // The promise wrapper keeps the driver's own connection here, untyped.
        created.queryAll = queryAllOn(Reflect.get(created, 'connection') as CoreConnection);
      }
      const conn = watchConnection(created, 'mes', ['query', 'execute', 'queryAll']);
      conn.on('error', (error) => options.logger.debug({ err: error }, 'MES connection error'));
      // TIMESTAMP columns convert through the session time zone; millrace's values are UTC.
      await conn.query("SET time_zone = '+00:00'");
      return conn;
    },
  });
}

/** Quotes an identifier for MySQL. */
export function quoteMysqlIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}
