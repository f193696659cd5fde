import type { Readable } from 'node:stream';
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
      const conn = watchConnection(
        await mysql.createConnection({
          ...connection,
          ...(options.withoutDatabase ? {} : { database }),
          connectTimeout: Math.max(1_000, Math.min(options.timeoutMs, 10_000)),
        }),
        'mes',
        ['query', 'execute'],
      );
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
