/**
 * Backfill throughput against the raw tools, in the same run: `millrace backfill` of a table of
 * BENCH_ROWS rows (default 1,000,000) versus `psql -c "COPY (…) TO STDOUT" | mariadb -e "LOAD DATA
 * LOCAL INFILE '/dev/stdin' …"` into the same staging table. Rounds alternate raw and millrace
 * (BENCH_ROUNDS, default 2), each on an empty target after InnoDB has flushed its dirty pages, and
 * each checks that both loads leave the same table (CHECKSUM TABLE). Prints one JSON object.
 *
 *   npm run build && node dist/bench/backfill.js
 *
 * Servers from CRM_DATABASE_URL / MES_DATABASE_URL (defaults: the local services); the bench
 * creates its own database pair (mrt_…_benchbf_…) and drops it at the end, on failure too.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { silentLogger } from '../src/log/logger.js';
import { migrateTarget } from '../src/mysql/migrate.js';
import { parseTargetUrl } from '../src/mysql/mysql-client.js';
import { upsertRows } from '../src/mysql/sql/upsert-rows.js';
import { pgClientConfig } from '../src/postgres/pg-client.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// The `millrace` command, as a user starts it (from the startup snapshot when the build made one).
const cli = path.join(repo, 'bin/millrace');
const rows = Number(process.env.BENCH_ROWS ?? 1_000_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const pgServer = new URL(process.env.CRM_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/crm');
const mysqlServer = new URL(process.env.MES_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/mes');
// Named like the tests' databases (mrt_<seconds>_…): their global setup sweeps leftovers of a killed run.
const name = `mrt_${Math.floor(Date.now() / 1000)}_benchbf_${randomBytes(3).toString('hex')}`;
const say = (text: string) => process.stderr.write(`${text}\n`);

function withDatabase(url: URL, database: string): string {
  const copy = new URL(url.toString());
  copy.pathname = `/${database}`;
  return copy.toString();
}
const crmUrl = withDatabase(pgServer, name);
const mesUrl = withDatabase(mysqlServer, name);

const sourceDdl = `
create table bench_order (
  id bigint primary key,
  name text not null,
  partner_id integer not null,
  state text not null,
  amount numeric(14,2),
  rate numeric(12,4),
  confirmed boolean not null,
  created_at timestamptz not null,
  note text
)`;

const sourceFill = `
insert into bench_order
select g, 'SO' || lpad(g::text, 8, '0'), g % 5000,
       (array['draft','sale','done','cancel'])[1 + g % 4],
       (g % 100000) / 100.0, g * 0.0123, g % 3 = 0,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' + (g % 1000) * interval '1 microsecond',
       case when g % 5 = 0 then null else repeat('note ', 1 + g % 12) end
  from generate_series(1, $1::int) g`;

const targetDdl = `
CREATE TABLE stg_bench_order (
  crm_order_id BIGINT NOT NULL PRIMARY KEY,
  order_ref VARCHAR(32) NOT NULL,
  customer_id INT NOT NULL,
  state VARCHAR(16) NOT NULL,
  amount DECIMAL(14,2) NULL,
  rate DECIMAL(12,4) NULL,
  confirmed TINYINT(1) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  note TEXT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

const mappingYaml = `name: bench_orders
source: public.bench_order
target: stg_bench_order
key:
  crm_order_id: id
columns:
  order_ref: name
  customer_id: partner_id
  state: state
  amount: amount
  rate: rate
  confirmed: confirmed
  created_at: created_at
  note: note
`;

/** The same rows in the text LOAD DATA reads: what a hand-written export would produce. */
const rawSelect = `select id, name, partner_id, state, amount, rate, confirmed::int,
  to_char(created_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), note from bench_order`;

function toolEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (pgServer.password) env.PGPASSWORD = decodeURIComponent(pgServer.password);
  if (mysqlServer.password) env.MYSQL_PWD = decodeURIComponent(mysqlServer.password);
  return env;
}

function mysqlBinary(): string {
  return (process.env.PATH ?? '')
    .split(':')
    .some((dir) => dir !== '' && existsSync(`${dir}/mariadb`))
    ? 'mariadb'
    : 'mysql';
}

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** Runs a command, resolving with its wall time in seconds, its stdout and its CPU times. */
function timed(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ seconds: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 100_000) stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve({ seconds, stdout, stderr });
      else reject(new Error(`${command} exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

async function settle(connection: mysql.Connection): Promise<void> {
  // Dirty pages of the previous load would be flushed during the next one and slow it down.
  for (let waited = 0; waited < 120; waited++) {
    const [status] = await connection.query(
      "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'",
    );
    if (Number((status as { Value: string }[])[0]?.Value ?? 0) < 100) return;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

async function tableState(
  connection: mysql.Connection,
): Promise<{ rows: number; checksum: string }> {
  const [count] = await connection.query('SELECT COUNT(*) AS n FROM stg_bench_order');
  const [sum] = await connection.query('CHECKSUM TABLE stg_bench_order');
  return {
    rows: Number((count as { n: string }[])[0]!.n),
    checksum: String((sum as { Checksum: string }[])[0]!.Checksum),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/**
 * The statements the one writer would send for these rows (its SQL builder, mysql2's escaping),
 * formatted ahead of time so that sending them measures the MySQL side of the write alone.
 */
async function writerStatements(source: pg.Client): Promise<string[]> {
  const columns = [
    'crm_order_id',
    'order_ref',
    'customer_id',
    'state',
    'amount',
    'rate',
    'confirmed',
    'created_at',
    'note',
  ];
  const statements: string[] = [];
  let after = 0;
  for (;;) {
    const { rows: page } = await source.query<Record<string, string | null>>(
      `select * from (${rawSelect} where id > $1 order by id limit 2000) page`,
      [after],
    );
    if (page.length === 0) return statements;
    const targetRows = page.map((row) => {
      const values = Object.values(row);
      return Object.fromEntries(columns.map((column, index) => [column, values[index] ?? null]));
    });
    const statement = upsertRows('stg_bench_order', columns, ['crm_order_id'], targetRows);
    statements.push(mysql.format(statement.sql, statement.values as (string | null)[]));
    after = Number(page.at(-1)!.id);
  }
}

/** Sends statements in transactions of 10,000 rows (five statements), as the backfill commits. */
async function sendStatements(
  connection: mysql.Connection,
  statements: readonly string[],
): Promise<number> {
  const started = performance.now();
  for (let index = 0; index < statements.length; index += 5) {
    await connection.query('START TRANSACTION');
    for (const statement of statements.slice(index, index + 5)) await connection.query(statement);
    await connection.query('COMMIT');
  }
  return (performance.now() - started) / 1000;
}

/** The environment of the raw pipeline and of `millrace backfill`. */
function benchEnv(mappingsDir: string): NodeJS.ProcessEnv {
  return {
    ...toolEnv(),
    CRM_DATABASE_URL: crmUrl,
    MES_DATABASE_URL: mesUrl,
    MILLRACE_MAPPINGS: mappingsDir,
    MILLRACE_SLOT: 'mrb_none',
    MILLRACE_LOG_LEVEL: 'error',
    CI: '1',
  };
}

/** The raw baseline: psql's COPY piped into the client's LOAD DATA, as one bash script. */
function rawLoadScript(): string {
  const pgArgs = [
    '-h',
    pgServer.hostname,
    '-p',
    pgServer.port || '5432',
    '-U',
    decodeURIComponent(pgServer.username || 'postgres'),
    '-d',
    name,
  ];
  const myArgs = [
    '-h',
    mysqlServer.hostname,
    '-P',
    mysqlServer.port || '3306',
    '-u',
    decodeURIComponent(mysqlServer.username || 'root'),
    name,
  ];
  return `set -euo pipefail
psql ${pgArgs.map(quote).join(' ')} -v ON_ERROR_STOP=1 -Atq -c ${quote(`copy (${rawSelect}) to stdout`)} \\
  | ${mysqlBinary()} --local-infile=1 ${myArgs.map(quote).join(' ')} -e ${quote("LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE stg_bench_order")}`;
}

/** The bench's sessions on its own databases, kept for the clean-up even when set-up fails. */
interface Sessions {
  source?: pg.Client;
  target?: mysql.Connection;
}

/** Creates the database pair, fills the source, migrates the target and writes the mapping. */
async function prepare(
  admins: { pg: pg.Client; mysql: mysql.Connection },
  mysqlOptions: mysql.ConnectionOptions,
  mappingsDir: string,
  sessions: Sessions,
): Promise<{ source: pg.Client; target: mysql.Connection }> {
  await admins.pg.query(`create database "${name}"`);
  await admins.mysql.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  const source = new pg.Client(pgClientConfig({ url: crmUrl }));
  sessions.source = source;
  ignoreErrors(source);
  await source.connect();
  say(`filling ${rows} source rows…`);
  await source.query(sourceDdl);
  await source.query(sourceFill, [rows]);
  await source.query('analyze bench_order');
  await migrateTarget({
    targetUrl: mesUrl,
    migrationsDir: path.join(mappingsDir, 'none'),
    connectTimeoutMs: 10_000,
    logger: silentLogger(),
  });
  const target = await mysql.createConnection({ ...mysqlOptions, database: name });
  sessions.target = target;
  await target.query(targetDdl);
  writeFileSync(path.join(mappingsDir, 'bench_orders.yaml'), mappingYaml);
  return { source, target };
}

/** Empties the target and waits for InnoDB to settle, so each load starts alike. */
async function emptyTarget(target: mysql.Connection): Promise<void> {
  await target.query('TRUNCATE stg_bench_order');
  await settle(target);
}

/** One round: the raw load, the writer's floor and `millrace backfill`, each checked. */
async function measureRound(
  round: number,
  target: mysql.Connection,
  statements: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<Record<string, number>> {
  await emptyTarget(target);
  const raw = await timed('bash', ['-c', rawLoadScript()], env);
  const rawState = await tableState(target);

  // The floor the writer's SQL sets: its statements, already formatted, sent as it sends them.
  await emptyTarget(target);
  const floorSeconds = await sendStatements(target, statements);
  const floorState = await tableState(target);

  await emptyTarget(target);
  // The executable itself, as users run it: its shebang carries the heap cap.
  const ours = await timed(cli, ['backfill', '--restart'], env);
  const ourState = await tableState(target);
  if (rawState.rows !== rows || ourState.rows !== rows) {
    throw new Error(
      `row counts differ: raw ${rawState.rows}, millrace ${ourState.rows}, source ${rows}`,
    );
  }
  if (rawState.checksum !== ourState.checksum || floorState.checksum !== ourState.checksum) {
    throw new Error(
      `the loads differ: CHECKSUM TABLE raw ${rawState.checksum}, millrace ${ourState.checksum}`,
    );
  }
  // The summary's own seconds: the copy, without the process start and the mapping compile.
  const summary = ours.stdout.split('\n').find((line) => line.startsWith('bench_orders'));
  const copySeconds = Number(summary?.split(/\s+/)[5] ?? Number.NaN);
  return {
    round,
    rawSeconds: round2(raw.seconds),
    writerFloorSeconds: round2(floorSeconds),
    millraceSeconds: round2(ours.seconds),
    millraceCopySeconds: round2(copySeconds),
    ratio: round2(ours.seconds / raw.seconds),
    ratioToFloor: round2(ours.seconds / floorSeconds),
  };
}

/** The one JSON object on stdout: every round, their medians, the machine. */
function printResults(results: readonly Record<string, number>[]): void {
  const millraceSeconds = median(results.map((result) => result.millraceSeconds!));
  const rawSeconds = median(results.map((result) => result.rawSeconds!));
  const floorSeconds = median(results.map((result) => result.writerFloorSeconds!));
  process.stdout.write(
    `${JSON.stringify(
      {
        rows,
        rounds: results,
        median: {
          rawSeconds,
          millraceSeconds,
          writerFloorSeconds: floorSeconds,
          millraceCopySeconds: median(results.map((result) => result.millraceCopySeconds!)),
          rawRowsPerSecond: Math.round(rows / rawSeconds),
          millraceRowsPerSecond: Math.round(rows / millraceSeconds),
          ratio: round2(millraceSeconds / rawSeconds),
          ratioToWriterFloor: round2(millraceSeconds / floorSeconds),
        },
        machine: {
          cpus: os.cpus().length,
          loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100),
        },
      },
      null,
      2,
    )}\n`,
  );
}

/** A connection another session terminates must fail the query in flight, not the process. */
function ignoreErrors(client: pg.Client): void {
  client.on('error', () => undefined);
}

async function main(): Promise<void> {
  const admin = new pg.Client(pgClientConfig({ url: withDatabase(pgServer, 'postgres') }));
  ignoreErrors(admin);
  await admin.connect();
  const { options: mysqlOptions } = parseTargetUrl(mysqlServer.toString());
  const myAdmin = await mysql.createConnection(mysqlOptions);
  const mappingsDir = mkdtempSync(path.join(tmpdir(), 'millrace-bench-backfill-'));
  const sessions: Sessions = {};
  const cleanup = async (): Promise<void> => {
    await sessions.source?.end().catch(() => undefined);
    await sessions.target?.end().catch(() => undefined);
    await admin.query(`drop database if exists "${name}" with (force)`).catch(() => undefined);
    await myAdmin.query(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined);
    await admin.end().catch(() => undefined);
    await myAdmin.end().catch(() => undefined);
    rmSync(mappingsDir, { recursive: true, force: true });
  };
  // A stopped bench still drops what it created.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    const admins = { pg: admin, mysql: myAdmin };
    const { source, target } = await prepare(admins, mysqlOptions, mappingsDir, sessions);
    const env = benchEnv(mappingsDir);
    say('preparing the writer-shaped statements…');
    const statements = await writerStatements(source);
    const results: Record<string, number>[] = [];
    for (let round = 1; round <= rounds; round++) {
      const result = await measureRound(round, target, statements, env);
      say(
        `round ${round}: raw ${result.rawSeconds} s, writer floor ${result.writerFloorSeconds} s, millrace ${result.millraceSeconds} s (copy ${result.millraceCopySeconds} s), ratio ${result.ratio}`,
      );
      results.push(result);
    }
    printResults(results);
  } finally {
    await cleanup();
  }
}

await main();
