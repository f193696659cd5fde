import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';

/** Every database and slot the bench creates starts with this, so leftovers can be found. */
export const benchPrefix = 'mrb_';

/** The servers the bench runs on, and how the command-line tools reach them. */
export interface BenchServers {
  /** A PostgreSQL URL without the database part decided yet (any database name is replaced). */
  readonly pgUrl: URL;
  readonly mysqlUrl: URL;
}

export function benchServers(env: NodeJS.ProcessEnv = process.env): BenchServers {
  return {
    pgUrl: new URL(env.CRM_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/crm'),
    mysqlUrl: new URL(env.MES_DATABASE_URL || 'mysql://root@127.0.0.1:3306/mes'),
  };
}

export function withDatabase(url: URL, database: string): string {
  const copy = new URL(url.toString());
  copy.pathname = `/${database}`;
  return copy.toString();
}

/** Values in text form, as millrace reads them. */
const textTypes = { getTypeParser: () => (value: string) => value };

export function pgClient(url: string, applicationName = 'millrace-bench'): pg.Client {
  const client = new pg.Client({
    connectionString: url,
    application_name: applicationName,
    types: textTypes,
    options: '-c TimeZone=UTC',
  } as pg.ClientConfig);
  // A connection that dies while idle (someone restarts the shared server) must not end the
  // bench: the next query on it fails, and with it only the scenario in progress.
  client.on('error', () => undefined);
  return client;
}

export async function mysqlConnection(url: URL, database?: string): Promise<mysql.Connection> {
  const connection = await mysql.createConnection({
    host: url.hostname,
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username || 'root'),
    password: decodeURIComponent(url.password),
    charset: 'utf8mb4',
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    multipleStatements: true,
    ...(database ? { database } : {}),
  });
  connection.on('error', () => undefined);
  return connection;
}

/** Arguments and environment for psql / pg_recvlogical / mariadb against the bench servers. */
export function pgToolArgs(servers: BenchServers, database: string): string[] {
  const url = servers.pgUrl;
  return [
    '-h',
    url.hostname,
    '-p',
    url.port || '5432',
    '-U',
    decodeURIComponent(url.username || 'postgres'),
    '-d',
    database,
  ];
}

export function mysqlToolArgs(servers: BenchServers, database: string): string[] {
  const url = servers.mysqlUrl;
  return [
    '-h',
    url.hostname,
    '-P',
    url.port || '3306',
    '-u',
    decodeURIComponent(url.username || 'root'),
    database,
  ];
}

/** PGPASSWORD / MYSQL_PWD from the URLs, so no password appears on a command line. */
export function toolEnv(servers: BenchServers): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (servers.pgUrl.password) env.PGPASSWORD = decodeURIComponent(servers.pgUrl.password);
  if (servers.mysqlUrl.password) env.MYSQL_PWD = decodeURIComponent(servers.mysqlUrl.password);
  return env;
}

/** A fresh CRM/MES database pair for one scenario. */
export interface BenchDatabases {
  readonly name: string;
  readonly crmUrl: string;
  readonly mesUrl: string;
  readonly servers: BenchServers;
  /** Open clients on the pair (closed by drop). */
  readonly pg: pg.Client;
  readonly mysql: mysql.Connection;
  /** A unique slot/publication name inside this pair. */
  uniqueName(label: string): string;
  /** Drops slots (terminating their walsenders), then both databases. Safe to call twice. */
  drop(): Promise<void>;
}

async function adminPg(servers: BenchServers): Promise<pg.Client> {
  const client = pgClient(withDatabase(servers.pgUrl, 'postgres'), 'millrace-bench-admin');
  await client.connect();
  return client;
}

/** Drops every replication slot of a database, then the database. */
export async function dropPgDatabase(admin: pg.Client, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const slots = await admin.query<{ slot_name: string; active_pid: string | null }>(
      'select slot_name, active_pid from pg_replication_slots where database = $1',
      [name],
    );
    if (slots.rows.length === 0) break;
    for (const slot of slots.rows) {
      if (slot.active_pid) await admin.query('select pg_terminate_backend($1)', [slot.active_pid]);
    }
    for (const slot of slots.rows) {
      await admin
        .query('select pg_drop_replication_slot($1)', [slot.slot_name])
        .catch((error: unknown) => {
          if (attempt >= 50) throw error;
        });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await admin.query(`drop database if exists "${name}" with (force)`);
}

/** Drops one replication slot if it exists (terminating a walsender still holding it). */
export async function dropSlot(client: pg.Client, slot: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const found = await client.query<{ active_pid: string | null }>(
      'select active_pid from pg_replication_slots where slot_name = $1',
      [slot],
    );
    const row = found.rows[0];
    if (!row) return;
    if (row.active_pid) await client.query('select pg_terminate_backend($1)', [row.active_pid]);
    try {
      await client.query('select pg_drop_replication_slot($1)', [slot]);
      return;
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export async function createBenchDatabases(
  servers: BenchServers,
  label: string,
): Promise<BenchDatabases> {
  const name = `${benchPrefix}${Math.floor(Date.now() / 1000)}_${label}_${randomBytes(3).toString('hex')}`;
  const admin = await adminPg(servers);
  const myAdmin = await mysqlConnection(servers.mysqlUrl);
  try {
    await admin.query(`create database "${name}"`);
    await myAdmin.query(
      `create database \`${name}\` character set utf8mb4 collate utf8mb4_unicode_ci`,
    );
  } finally {
    await admin.end();
    await myAdmin.end();
  }
  const crmUrl = withDatabase(servers.pgUrl, name);
  const mesUrl = withDatabase(servers.mysqlUrl, name);
  const client = pgClient(crmUrl);
  await client.connect();
  const connection = await mysqlConnection(servers.mysqlUrl, name);
  let dropped = false;
  let counter = 0;
  return {
    name,
    crmUrl,
    mesUrl,
    servers,
    pg: client,
    mysql: connection,
    uniqueName: (what) => `${name.slice(0, 40)}_${what}${++counter}`,
    async drop() {
      if (dropped) return;
      await client.end().catch(() => undefined);
      await connection.end().catch(() => undefined);
      const pgAdmin = await adminPg(servers);
      const my = await mysqlConnection(servers.mysqlUrl);
      try {
        await dropPgDatabase(pgAdmin, name);
        await my.query(`drop database if exists \`${name}\``);
        dropped = true;
      } finally {
        await pgAdmin.end();
        await my.end();
      }
    },
  };
}

/**
 * Drops bench databases (and their slots) that a killed earlier run left behind: only those older
 * than an hour, in case another bench is running beside this one.
 */
export async function sweepBenchLeftovers(servers: BenchServers): Promise<string[]> {
  const cutoff = Date.now() / 1000 - 3600;
  const stale = (name: string) => Number(name.slice(benchPrefix.length).split('_')[0]) < cutoff;
  const swept: string[] = [];
  const admin = await adminPg(servers);
  const my = await mysqlConnection(servers.mysqlUrl);
  try {
    const dbs = await admin.query<{ datname: string }>(
      "select datname from pg_database where datname like 'mrb\\_%'",
    );
    for (const { datname } of dbs.rows.filter((row) => stale(row.datname))) {
      await dropPgDatabase(admin, datname);
      swept.push(datname);
    }
    const [rows] = await my.query(
      "select schema_name as name from information_schema.schemata where schema_name like 'mrb\\_%'",
    );
    for (const { name } of (rows as { name: string }[]).filter((row) => stale(row.name))) {
      await my.query(`drop database if exists \`${name}\``);
      swept.push(`${name} (MES)`);
    }
  } finally {
    await admin.end();
    await my.end();
  }
  return swept;
}

/**
 * A private copy of the built CLI: other engineers rebuild dist/ on this machine while the bench
 * runs, and a half-written module must not end a 20-minute run. node_modules is linked, not copied.
 */
export interface CliCopy {
  /** The `millrace` command (bin/millrace), which picks the start a user gets. */
  readonly bin: string;
  /** The plain entry, for starts under extra node flags (run directly: its shebang's heap cap). */
  readonly main: string;
  remove(): void;
}

export function copyCli(repo: string): CliCopy {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-bench-cli-'));
  // Times kept: bin/millrace starts from the snapshot only while its blob is newer than main.js.
  for (const part of ['bin', 'dist/src', 'package.json'])
    cpSync(path.join(repo, part), path.join(dir, part), {
      recursive: true,
      preserveTimestamps: true,
    });
  symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return {
    bin: path.join(dir, 'bin/millrace'),
    main: path.join(dir, 'dist/src/cli/main.js'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
