import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { inject } from 'vitest';
import { parseTargetUrl } from '../../src/mysql/mysql-client.js';
import { pgClientConfig } from '../../src/postgres/pg-client.js';

/** Every database the tests create starts with this, so leftovers of a killed run can be swept. */
const prefix = 'mrt_';

/** A fresh CRM/MES database pair for one test file, with clients on both. */
export interface TestDatabases {
  /** URL of this pair's CRM database (PostgreSQL). */
  readonly crmUrl: string;
  /** URL of this pair's MES database (MySQL/MariaDB). */
  readonly mesUrl: string;
  readonly crmName: string;
  readonly mesName: string;
  /** Client on the CRM database; values come back in text form, as millrace reads them. */
  readonly pg: pg.Client;
  /** Connection on the MES database (strings for DECIMAL/DATETIME, as millrace reads them). */
  readonly mysql: mysql.Connection;
  /** Drops the pair, its replication slots and publications. Safe to call twice. */
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function adminPg(serverUrl: string): Promise<pg.Client> {
  const client = new pg.Client(pgClientConfig({ url: withDatabase(serverUrl, 'postgres') }));
  await client.connect();
  return client;
}

async function adminMysql(serverUrl: string): Promise<mysql.Connection> {
  const { options } = parseTargetUrl(serverUrl);
  return mysql.createConnection(options);
}

async function dropPgDatabase(admin: pg.Client, name: string): Promise<void> {
  // A slot pins WAL until the disk fills: terminate its walsender, then drop it.
  const slots = await admin.query<{ slot_name: string; active_pid: string | null }>(
    'select slot_name, active_pid from pg_replication_slots where database = $1',
    [name],
  );
  for (const slot of slots.rows) {
    if (slot.active_pid) await admin.query('select pg_terminate_backend($1)', [slot.active_pid]);
  }
  for (const slot of slots.rows) {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query('select pg_drop_replication_slot($1)', [slot.slot_name]);
        break;
      } catch (error) {
        if ((error as { code?: string }).code === '42704') break; // already gone
        if (attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
  await admin.query(`drop database if exists "${name}" with (force)`);
  // The return path tags its CRM writes with the origin millrace_<slot> (its backfills with
  // millrace_<slot>_backfill); origins are cluster-wide, so they outlive the database. Free now
  // that the database's sessions are gone.
  await admin.query(
    'select pg_replication_origin_drop(roname) from pg_replication_origin where roname = any($1)',
    [
      slots.rows.flatMap((slot) => [
        `millrace_${slot.slot_name}`,
        `millrace_${slot.slot_name}_backfill`,
      ]),
    ],
  );
}

/** The millrace replication origins on the CRM server now. */
export async function millraceOrigins(crmServer: string): Promise<ReadonlySet<string>> {
  const admin = await adminPg(crmServer);
  try {
    const { rows } = await admin.query<{ roname: string }>(
      "select roname from pg_replication_origin where roname like 'millrace\\_%'",
    );
    return new Set(rows.map((row) => row.roname));
  } finally {
    await admin.end();
  }
}

/**
 * Drops the millrace replication origins made since `before`: the ones of streams that never had
 * a slot in a test database (an audit's repair, a backfill of a to-crm mapping) are not found by
 * a database's drop. One still held by a session (another suite's) is left to it.
 */
export async function dropOriginsSince(
  crmServer: string,
  before: ReadonlySet<string>,
): Promise<void> {
  const admin = await adminPg(crmServer);
  try {
    for (const name of await millraceOrigins(crmServer)) {
      if (before.has(name)) continue;
      await admin.query('select pg_replication_origin_drop($1)', [name]).catch((error: unknown) => {
        const code = (error as { code?: string }).code;
        if (code !== '55006' && code !== '42704') throw error;
      });
    }
  } finally {
    await admin.end();
  }
}

/** Creates a fresh database pair named after `label`; call `drop()` in afterAll. */
export async function createTestDatabases(label: string): Promise<TestDatabases> {
  const crmServer = inject('crmServerUrl');
  const mesServer = inject('mesServerUrl');
  const created = Math.floor(Date.now() / 1000);
  const suffix = `${created}_${label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 24)}_${randomBytes(3).toString('hex')}`;
  const crmName = `${prefix}${suffix}`;
  const mesName = `${prefix}${suffix}`;
  const pgAdmin = await adminPg(crmServer);
  const myAdmin = await adminMysql(mesServer);
  try {
    await pgAdmin.query(`create database "${crmName}"`);
    await myAdmin.query(
      `create database \`${mesName}\` character set utf8mb4 collate utf8mb4_unicode_ci`,
    );
  } finally {
    await pgAdmin.end();
    await myAdmin.end();
  }
  const crmUrl = withDatabase(crmServer, crmName);
  const mesUrl = withDatabase(mesServer, mesName);
  const pgClient = new pg.Client(pgClientConfig({ url: crmUrl, applicationName: 'millrace-test' }));
  await pgClient.connect();
  const { options } = parseTargetUrl(mesUrl);
  const mysqlConn = await mysql.createConnection({ ...options, database: mesName });
  let dropped = false;
  return {
    crmUrl,
    mesUrl,
    crmName,
    mesName,
    pg: pgClient,
    mysql: mysqlConn,
    async drop() {
      if (dropped) return;
      dropped = true;
      await pgClient.end().catch(() => undefined);
      await mysqlConn.end().catch(() => undefined);
      const admin = await adminPg(crmServer);
      const my = await adminMysql(mesServer);
      try {
        await dropPgDatabase(admin, crmName);
        await my.query(`drop database if exists \`${mesName}\``);
      } finally {
        await admin.end();
        await my.end();
      }
    },
  };
}

/** Seconds since the epoch at which a test database was created, from its name. */
function createdAt(name: string): number {
  return Number(name.slice(prefix.length).split('_')[0]);
}

/**
 * Drops databases and slots that a killed earlier run left behind. Only those older than an hour:
 * another test run may be going on beside this one.
 */
export async function sweepLeftovers(crmServer: string, mesServer: string): Promise<void> {
  const cutoff = Date.now() / 1000 - 3600;
  const stale = (name: string) => createdAt(name) < cutoff;
  const admin = await adminPg(crmServer);
  const my = await adminMysql(mesServer);
  try {
    const dbs = await admin.query<{ datname: string }>(
      'select datname from pg_database where datname like $1',
      [`${prefix}%`],
    );
    for (const { datname } of dbs.rows.filter((row) => stale(row.datname)))
      await dropPgDatabase(admin, datname);
    const [rows] = await my.query(
      'select schema_name as name from information_schema.schemata where schema_name like ?',
      [`${prefix}%`],
    );
    for (const { name } of (rows as { name: string }[]).filter((row) => stale(row.name))) {
      await my.query(`drop database if exists \`${name}\``);
    }
  } finally {
    await admin.end();
    await my.end();
  }
}
