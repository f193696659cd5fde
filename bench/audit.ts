/**
 * Audit throughput and memory: rows/s per side and peak RSS of `millrace audit` on a consistent
 * pair and on one with 1% of the rows differing (a third missing, a third extra, a third with
 * one changed cell), each audit in its own process so its peak RSS is its own.
 *
 *   npm run build && node dist/bench/audit.js [--rows 1000000] [--fresh] [--database NAME] [--consistent-only]
 *
 * Uses CRM_DATABASE_URL / MES_DATABASE_URL's servers (defaults: local PostgreSQL and MariaDB)
 * and a database pair `mr_bench_audit` on each, created and loaded (through `millrace backfill`)
 * on the first run and kept for the next ones; --fresh rebuilds it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { runAudit } from '../src/audit/run-audit.js';
import { silentLogger } from '../src/log/logger.js';
import { parseTargetUrl } from '../src/mysql/mysql-client.js';
import { pgClientConfig } from '../src/postgres/pg-client.js';

const databaseFlag = process.argv.indexOf('--database');
const database = databaseFlag === -1 ? 'mr_bench_audit' : process.argv[databaseFlag + 1]!;

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

const crmServer = process.env.CRM_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/crm';
const mesServer = process.env.MES_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/mes';
const crmUrl = withDatabase(crmServer, database);
const mesUrl = withDatabase(mesServer, database);

const mappingYaml = `
name: bench_orders
source: public.bench_order
target: stg_bench_order
key: { crm_order_id: id }
columns:
  order_ref: name
  customer_id: partner_id
  state: { from: state, map: { sale: RELEASED, done: COMPLETED }, default: PLANNED }
  amount: amount
  ordered_at: ordered_at
  note: { from: note, transform: [trim] }
  token: token
onDelete: delete
metadata: { syncedAt: _synced_at }
`;

/** What the child prints: one audit's figures. */
interface ChildResult {
  readonly seconds: number;
  /** CPU time of the audit process (user + system): what the machine's other load does not inflate much. */
  readonly cpuSeconds: number;
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly peakRssMb: number;
  readonly counts: { matched: number; missing: number; extra: number; different: number };
}

async function child(mappingsDir: string, hashing: boolean, repair: boolean): Promise<void> {
  const outcome = await runAudit({
    sourceUrl: crmUrl,
    targetUrl: mesUrl,
    mappingsDir,
    slot: 'bench_no_replicator',
    tables: [],
    samples: 20,
    settleTimeoutMs: 0,
    repair,
    dryRun: false,
    connectTimeoutMs: 5_000,
    logger: silentLogger(),
    hashing,
    record: false,
  });
  const mapping = outcome.report.mappings[0]!;
  const result: ChildResult = {
    seconds: outcome.throughput.seconds,
    cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    sourceRows: outcome.throughput.sourceRows,
    targetRows: outcome.throughput.targetRows,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    counts: {
      matched: mapping.matched,
      missing: mapping.missing,
      extra: mapping.extra,
      different: mapping.different,
    },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(args: readonly string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [process.argv[1]!, ...args, '--database', database], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    proc.on('error', reject);
    proc.on('close', (code) => {
      if (code !== 0) reject(new Error(`audit child exited ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult);
    });
  });
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, [...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    proc.on('error', reject);
    proc.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}`)),
    );
  });
}

async function prepare(rows: number, fresh: boolean, mappingsDir: string): Promise<void> {
  const admin = new pg.Client(pgClientConfig({ url: withDatabase(crmServer, 'postgres') }));
  await admin.connect();
  const myAdmin = await mysql.createConnection(parseTargetUrl(mesServer).options);
  try {
    if (fresh) {
      await admin.query(`drop database if exists ${database}`);
      await myAdmin.query(`drop database if exists ${database}`);
    }
    const exists = await admin.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rows.length === 0) await admin.query(`create database ${database}`);
    await myAdmin.query(
      `create database if not exists ${database} character set utf8mb4 collate utf8mb4_unicode_ci`,
    );
  } finally {
    await admin.end();
    await myAdmin.end();
  }
  const source = new pg.Client(pgClientConfig({ url: crmUrl }));
  await source.connect();
  const target = await mysql.createConnection({ ...parseTargetUrl(mesUrl).options, database });
  try {
    const have = await source.query(
      `select count(*)::int as n from pg_tables where tablename = 'bench_order'`,
    );
    const count =
      Number((have.rows[0] as { n: string }).n) === 0
        ? -1
        : Number((await source.query('select count(*) as n from bench_order')).rows[0].n);
    if (count === rows) {
      const [mes] = await target.query('select count(*) as n from stg_bench_order');
      if (Number((mes as { n: string }[])[0]!.n) === rows) return;
    }
    process.stderr.write(`bench: loading ${rows} rows into ${database} (once)\n`);
    await source.query('drop table if exists bench_order');
    await source.query(`create table bench_order (
      id bigint primary key, name varchar(64) not null, partner_id int not null, state text not null,
      amount numeric(14,2) not null, ordered_at timestamptz not null, note text, token uuid not null)`);
    await source.query(
      `insert into bench_order
       select g, 'SO' || lpad(g::text, 8, '0'), 1 + g % 5000, (array['draft','sent','sale','done','cancel'])[1 + g % 5],
              (g % 100000) / 100.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1.000001 second',
              case when g % 3 = 0 then null else ' note ' || g || ' ü ' end, md5(g::text)::uuid
         from generate_series(1, $1::int) g`,
      [rows],
    );
    await source.query('vacuum analyze bench_order');
    await target.query('drop table if exists stg_bench_order');
    await target.query(`create table stg_bench_order (
      crm_order_id bigint not null primary key, order_ref varchar(64) not null, customer_id int not null,
      state varchar(16) not null, amount decimal(14,2) not null, ordered_at datetime(6) not null,
      note text null, token char(36) not null, _synced_at datetime(6) null)`);
    const env = {
      ...process.env,
      CRM_DATABASE_URL: crmUrl,
      MES_DATABASE_URL: mesUrl,
      MILLRACE_MAPPINGS: mappingsDir,
      MILLRACE_LOG_LEVEL: 'warn',
    };
    const cli = path.resolve(path.dirname(process.argv[1]!), '../../bin/millrace');
    await run(cli, ['migrate', '--migrations', '/nonexistent'], env);
    await run(cli, ['backfill', '--restart', '--chunk-size', '20000'], env);
  } finally {
    await source.end();
    await target.end();
  }
}

/** Breaks 1% of the MES rows: a third deleted, a third changed in one cell, a third added. */
async function breakOnePercent(rows: number): Promise<number> {
  const target = await mysql.createConnection({ ...parseTargetUrl(mesUrl).options, database });
  try {
    const step = 100;
    await target.query('delete from stg_bench_order where crm_order_id % ? = 1', [step * 3]);
    await target.query(
      `update stg_bench_order set amount = amount + 0.01 where crm_order_id % ? = ?`,
      [step * 3, step + 1],
    );
    await target.query(
      `insert into stg_bench_order (crm_order_id, order_ref, customer_id, state, amount, ordered_at, token)
       select crm_order_id + ?, order_ref, customer_id, state, amount, ordered_at, token
         from stg_bench_order where crm_order_id % ? = ?`,
      [rows, step * 3, 2 * step + 1],
    );
    return Math.round(rows / step);
  } finally {
    await target.end();
  }
}

function line(label: string, result: ChildResult): string {
  const perSecond = (n: number) =>
    `${Math.round(n / result.seconds).toLocaleString('en-US')} rows/s`;
  return `${label.padEnd(34)} ${result.seconds.toFixed(2).padStart(6)} s (cpu ${result.cpuSeconds.toFixed(1)} s)  source ${perSecond(result.sourceRows).padStart(16)}  target ${perSecond(result.targetRows).padStart(16)}  peak RSS ${String(result.peakRssMb).padStart(4)} MB  matched ${result.counts.matched} missing ${result.counts.missing} extra ${result.counts.extra} different ${result.counts.different}`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    await child(args[1]!, args[2] === 'hash', args[3] === 'repair');
    return;
  }
  const rowsFlag = args.indexOf('--rows');
  const rows = rowsFlag === -1 ? 1_000_000 : Number(args[rowsFlag + 1]);
  const fresh = args.includes('--fresh');
  const mappingsDir = mkdtempSync(path.join(tmpdir(), 'millrace-bench-audit-'));
  writeFileSync(path.join(mappingsDir, 'bench.yaml'), mappingYaml);
  await prepare(rows, fresh, mappingsDir);

  const results: string[] = [];
  const report = (label: string, result: ChildResult) => {
    const text = line(label, result);
    results.push(text);
    process.stdout.write(`${text}\n`);
  };
  report('consistent, per-chunk digests', await runChild(['--child', mappingsDir, 'hash']));
  report('consistent, row by row', await runChild(['--child', mappingsDir, 'rows']));
  if (args.includes('--consistent-only')) return;
  const broken = await breakOnePercent(rows);
  process.stdout.write(`(broke ${broken} rows on the MES: 1%)\n`);
  report('1% differing, per-chunk digests', await runChild(['--child', mappingsDir, 'hash']));
  report('1% differing, row by row', await runChild(['--child', mappingsDir, 'rows']));
  report('1% differing, --repair', await runChild(['--child', mappingsDir, 'hash', 'repair']));
  report('after repair', await runChild(['--child', mappingsDir, 'hash']));
  process.stdout.write(`\n${rows.toLocaleString('en-US')} rows per side on this machine.\n`);
}

await main();
