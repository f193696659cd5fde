import type pg from 'pg';
import { watchConnection } from '../errors/watch-connection.js';
import type { Logger } from '../log/logger.js';
import { connectWithRetry } from '../util/connect-with-retry.js';
import { loadPg } from './load-pg.js';

/**
 * The slice of a `pg` Client millrace uses, as a structural type: every module that reads the
 * CRM takes this rather than pg's class, so tests hand in fakes without casts and only this file
 * knows the driver. Values are always text (see `textTypes`); `rowMode: 'array'` reads keep
 * large scans cheap.
 */
export interface PgClient {
  query<R extends object = Record<string, unknown>>(
    text: string,
    values?: readonly unknown[],
  ): Promise<{ rows: R[]; rowCount?: number | null; command?: string }>;
  query(config: {
    readonly text: string;
    readonly values?: readonly unknown[];
    readonly rowMode: 'array';
  }): Promise<{ rows: unknown[][] }>;
  /** A streaming query (pg-copy-streams' COPY … TO STDOUT): returns the stream it was given. */
  query<S extends pg.Submittable>(stream: S): S;
  end(): Promise<void>;
}

/**
 * Every value arrives in PostgreSQL's text form. `pg`'s parsers would turn timestamptz into a
 * JS Date (losing microseconds) and numeric/int8 into floats; stream, backfill and audit must
 * convert the same text to the same target value (docs/mappings.md, "Conversion table").
 */
const textTypes = Object.freeze({ getTypeParser: () => (value: string) => value });

interface PgConnectOptions {
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

interface ConnectSourceOptions extends PgConnectOptions {
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/** A connected client on the CRM, retried for the connect timeout. */
export function connectSource(options: ConnectSourceOptions): Promise<PgClient> {
  return connectWithRetry({
    what: 'CRM PostgreSQL',
    side: 'crm',
    url: options.url,
    option: '--source / CRM_DATABASE_URL',
    code: 'SOURCE_UNREACHABLE',
    timeoutMs: options.timeoutMs,
    logger: options.logger,
    connect: async () => {
      const { Client } = await loadPg();
      // Watched from before connect: a server that closes the socket during start-up is an outage.
      const client = watchConnection(new Client(pgClientConfig(options)), 'crm', [
        'connect',
        'query',
      ]);
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
