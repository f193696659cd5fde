import pg from 'pg';
import type { Logger } from '../log/logger.js';
import { connectWithRetry, isNetworkError } from '../util/connect-with-retry.js';

export type PgClient = pg.Client;

/**
 * Every value arrives in PostgreSQL's text form. `pg`'s parsers would turn timestamptz into a
 * JS Date (losing microseconds) and numeric/int8 into floats; DESIGN.md "Values" forbids that.
 */
const textTypes = Object.freeze({ getTypeParser: () => (value: string) => value });

export interface PgConnectOptions {
  readonly url: string;
  readonly applicationName?: string;
  /** Open a walsender connection (`replication=database`) instead of a normal session. */
  readonly replication?: boolean;
}

/**
 * Session settings that fix the text form of values, so stream (walsender), backfill and audit
 * read identical text: UTC timestamps, ISO dates, round-trip floats, hex bytea.
 */
const sessionSettings =
  '-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex';

export function pgClientConfig(options: PgConnectOptions): pg.ClientConfig {
  return {
    connectionString: options.url,
    application_name: options.applicationName ?? 'millrace',
    options: sessionSettings,
    types: textTypes,
    ...(options.replication ? { replication: 'database' } : {}),
  } as pg.ClientConfig;
}

/** SQLSTATEs that mean "the server is there but not ready yet": worth waiting for. */
const retryableSqlStates = new Set(['57P03', '53300', '08006', '08001', '08004']);

export function isRetryablePgError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return isNetworkError(error) || (typeof code === 'string' && retryableSqlStates.has(code));
}

export interface ConnectSourceOptions extends PgConnectOptions {
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/** A connected client on the CRM, retried for the connect timeout (DESIGN.md). */
export function connectSource(options: ConnectSourceOptions): Promise<PgClient> {
  return connectWithRetry({
    what: 'CRM PostgreSQL',
    url: options.url,
    option: '--source / CRM_DATABASE_URL',
    code: 'SOURCE_UNREACHABLE',
    timeoutMs: options.timeoutMs,
    logger: options.logger,
    isRetryable: isRetryablePgError,
    connect: async () => {
      const client = new pg.Client(pgClientConfig(options));
      // An idle connection that dies must not crash the process; the next query reports it.
      client.on('error', (error) => options.logger.debug({ err: error }, 'CRM connection error'));
      try {
        await client.connect();
        return client;
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      }
    },
  });
}

/** Quotes an identifier for PostgreSQL. */
export function quotePgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table` with both parts quoted. */
export function quotePgTable(schema: string, table: string): string {
  return `${quotePgIdent(schema)}.${quotePgIdent(table)}`;
}
