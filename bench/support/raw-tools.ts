import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type mysql from 'mysql2/promise';
import type { BinlogFile } from '../../src/mysql/binlog/binlog-files.js';
import { decodeBinlogPosition } from '../../src/mysql/binlog/binlog-position.js';
import type { Lsn } from '../../src/util/lsn.js';
import { type BenchDatabases, mysqlToolArgs, pgToolArgs, toolEnv } from './bench-env.js';
import { mappedSelect, mappedTupleSelect, targetColumns } from './bench-schema.js';
import { runCommand, runPipeline, shellQuote } from './shell.js';

/** Rows per `INSERT … ON DUPLICATE KEY UPDATE` statement in the raw load file. */
export const rawBatchRows = 1_000;

/**
 * Writes the source's current rows, mapped, as 1,000-row `INSERT … ON DUPLICATE KEY UPDATE`
 * statements (what a hand-written loader would send). Not timed: the file is the raw tools' input.
 */
export async function writeUpsertFile(
  dbs: BenchDatabases,
  table: string,
  file: string,
): Promise<number> {
  const out = createWriteStream(file);
  const psql = spawn(
    'psql',
    [
      ...pgToolArgs(dbs.servers, dbs.name),
      '-v',
      'ON_ERROR_STOP=1',
      '-Atq',
      '-c',
      mappedTupleSelect,
    ],
    {
      env: toolEnv(dbs.servers),
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const head = `INSERT INTO ${table} (${targetColumns.join(', ')}) VALUES\n`;
  const tail = `\nON DUPLICATE KEY UPDATE ${targetColumns
    .slice(1)
    .map((column) => `${column} = VALUES(${column})`)
    .join(', ')};\n`;
  let rows = 0;
  let batch: string[] = [];
  const write = (text: string) =>
    out.write(text)
      ? Promise.resolve()
      : new Promise<void>((resolve) => out.once('drain', () => resolve()));
  for await (const line of createInterface({ input: psql.stdout })) {
    if (line === '') continue;
    batch.push(line);
    rows++;
    if (batch.length === rawBatchRows) {
      await write(head + batch.join(',\n') + tail);
      batch = [];
    }
  }
  if (batch.length > 0) await write(head + batch.join(',\n') + tail);
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
  const code = await new Promise<number | null>((resolve) => {
    if (psql.exitCode !== null) resolve(psql.exitCode);
    else psql.on('close', resolve);
  });
  if (code !== 0) throw new Error(`psql exited ${code} while writing ${file}`);
  return rows;
}

/** Times the mariadb/mysql client loading an SQL file into the bench MES database. */
export async function loadSqlFile(dbs: BenchDatabases, file: string): Promise<number> {
  const client = mysqlClientBinary();
  const result = await runPipeline(
    `${client} ${mysqlToolArgs(dbs.servers, dbs.name).map(shellQuote).join(' ')} < ${shellQuote(file)}`,
    toolEnv(dbs.servers),
  );
  return result.ms;
}

/**
 * Times `COPY (mapped select) TO STDOUT` piped into `LOAD DATA LOCAL INFILE` (the fastest way the
 * two stock clients move rows), into `table`.
 */
export async function copyIntoLoadData(dbs: BenchDatabases, table: string): Promise<number> {
  const copy = `copy (${mappedSelect.trim()}) to stdout`;
  const load = `LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE ${table} (${targetColumns.join(', ')})`;
  const result = await runPipeline(
    `psql ${pgToolArgs(dbs.servers, dbs.name).map(shellQuote).join(' ')} -v ON_ERROR_STOP=1 -Atq -c ${shellQuote(copy)} \\
       | ${mysqlClientBinary()} --local-infile=1 ${mysqlToolArgs(dbs.servers, dbs.name).map(shellQuote).join(' ')} -e ${shellQuote(load)}`,
    toolEnv(dbs.servers),
  );
  return result.ms;
}

const onPath = (name: string) =>
  (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(`${dir}/${name}`));

let clientBinary: string | undefined;
/** `mariadb` where installed, else `mysql`. */
export function mysqlClientBinary(): string {
  clientBinary ??= onPath('mariadb') ? 'mariadb' : 'mysql';
  return clientBinary;
}

let binlogBinary: string | undefined;
/** `mariadb-binlog` where installed, else `mysqlbinlog`. */
export function binlogDecoderBinary(): string {
  binlogBinary ??= onPath('mariadb-binlog') ? 'mariadb-binlog' : 'mysqlbinlog';
  return binlogBinary;
}

/** A range of the server's binlog: the files it spans, from an offset in the first to one in the last. */
export interface BinlogRange {
  readonly files: readonly string[];
  readonly start: number;
  readonly stop: number;
}

/** The binlog between two encoded positions (millrace's `fileIndex << 32 | offset`). */
export function binlogRange(files: readonly BinlogFile[], from: Lsn, to: Lsn): BinlogRange {
  const start = decodeBinlogPosition(from);
  const stop = decodeBinlogPosition(to);
  return {
    files: files
      .filter((file) => file.index >= start.fileIndex && file.index <= stop.fileIndex)
      .map((file) => file.name),
    start: start.offset,
    stop: stop.offset,
  };
}

/**
 * Times the stock binlog client decoding a range from the server as a replica would read it
 * (`--read-from-remote-server --base64-output=decode-rows --verbose`), into /dev/null.
 */
export async function decodeBinlogRange(url: URL, range: BinlogRange): Promise<number> {
  const args = [
    '--read-from-remote-server',
    `--host=${url.hostname}`,
    `--port=${url.port || '3306'}`,
    `--user=${decodeURIComponent(url.username || 'root')}`,
    '--base64-output=decode-rows',
    '--verbose',
    `--start-position=${range.start}`,
    `--stop-position=${range.stop}`,
    ...range.files,
  ];
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (url.password) env.MYSQL_PWD = decodeURIComponent(url.password);
  const result = await runPipeline(
    `${binlogDecoderBinary()} ${args.map(shellQuote).join(' ')} > /dev/null`,
    env,
  );
  return result.ms;
}

/** Version strings of the tools, for the report. */
export async function toolVersions(): Promise<Record<string, string>> {
  const version = async (command: string, args: string[]) =>
    (
      await runCommand(command, args, { allowFailure: true }).catch(() => ({ stdout: 'not found' }))
    ).stdout.trim();
  return {
    pg_recvlogical: await version('pg_recvlogical', ['--version']),
    psql: await version('psql', ['--version']),
    [mysqlClientBinary()]: await version(mysqlClientBinary(), ['--version']),
  };
}

/**
 * Waits while InnoDB flushes the dirty pages a previous step left (until under 10 % of the pool,
 * or no longer falling for 1.5 s, or `timeoutMs`), so a timed step does not pay for the flushing
 * of the one before it. Other users of the server keep some pages dirty, hence no fixed floor.
 * Returns the milliseconds waited.
 */
export async function settleInnodb(
  connection: mysql.Connection,
  timeoutMs = 15_000,
): Promise<number> {
  const started = performance.now();
  let lowest = Number.POSITIVE_INFINITY;
  let lowestAt = started;
  for (;;) {
    const [rows] = await connection.query(
      "show global status where variable_name in ('Innodb_buffer_pool_pages_dirty', 'Innodb_buffer_pool_pages_total')",
    );
    const status = new Map(
      (rows as { Variable_name: string; Value: string }[]).map((row) => [
        row.Variable_name,
        Number(row.Value),
      ]),
    );
    const dirty = status.get('Innodb_buffer_pool_pages_dirty') ?? 0;
    const total = status.get('Innodb_buffer_pool_pages_total') ?? 1;
    const now = performance.now();
    if (dirty < lowest) {
      lowest = dirty;
      lowestAt = now;
    }
    if (dirty / total < 0.1 || now - lowestAt > 1_500 || now - started > timeoutMs)
      return now - started;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
