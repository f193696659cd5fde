import { randomBytes, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import { silentLogger } from '../src/log/logger.js';
import { type BinlogQuery, binlogEnd, listBinlogFiles } from '../src/mysql/binlog/binlog-files.js';
import { BinlogSource } from '../src/mysql/binlog/binlog-source.js';
import { ZongjiReader } from '../src/mysql/binlog/zongji-reader.js';
import { parseTargetUrl } from '../src/mysql/mysql-client.js';
import type { Lsn } from '../src/util/lsn.js';
import { binlogRange, decodeBinlogRange } from './support/raw-tools.js';
import { median, round } from './support/stats.js';

/**
 * How fast the return path's binlog source decodes a backlog of single-row MES transactions,
 * against `mariadb-binlog --base64-output=decode-rows -v` reading the same binlog range from the
 * server in the same run: `npm run build && node dist/bench/binlog-decode.js [transactions] [runs]`
 * (defaults 200000 and 3; MES_DATABASE_URL names the server). Medians of the runs, alternated.
 */

const transactions = Number(process.argv[2] ?? 200_000);
const runs = Number(process.argv[3] ?? 3);
const serverUrl = process.env.MES_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/mes';
const say = (text: string) => process.stdout.write(`${text}\n`);

async function queue(url: string, database: string): Promise<void> {
  const { options } = parseTargetUrl(url);
  const writers = 4;
  const perWriter = Math.ceil(transactions / writers);
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      const connection = await mysql.createConnection({
        ...options,
        database,
        multipleStatements: true,
      });
      try {
        // Autocommit: every statement is its own transaction; 200 go in one round trip.
        for (
          let from = writer * perWriter;
          from < Math.min(transactions, (writer + 1) * perWriter);
          from += 200
        ) {
          const to = Math.min(from + 200, (writer + 1) * perWriter, transactions);
          const statements: string[] = [];
          for (let id = from; id < to; id++) {
            statements.push(
              `insert into work_order values (${id}, 'planned', ${id % 1000}.2500, '2026-01-02 03:04:05.${String(id % 1_000_000).padStart(6, '0')}')`,
            );
          }
          await connection.query(statements.join(';'));
        }
      } finally {
        await connection.end();
      }
    }),
  );
}

/** Time for the binlog source to hand on every queued transaction's commit, in ms. */
async function millraceRun(
  url: string,
  database: string,
  control: BinlogQuery,
  start: Lsn,
): Promise<number> {
  const { options } = parseTargetUrl(url);
  const reader = new ZongjiReader({
    connection: options,
    database,
    tables: ['work_order'],
    serverId: randomInt(1_000_000, 2 ** 31),
    heartbeatMs: 5_000,
  });
  const source = new BinlogSource({
    database,
    tables: ['work_order'],
    startLsn: start,
    control,
    reader,
    logger: silentLogger(),
    keepaliveMs: 3_600_000,
  });
  let commits = 0;
  const started = performance.now();
  const done = new Promise<void>((resolve, reject) => {
    void source.start({
      event: (event) => {
        if (event.kind === 'commit' && ++commits === transactions) resolve();
      },
      fail: reject,
    });
  });
  await done;
  const ms = performance.now() - started;
  await source.stop();
  return ms;
}

async function main(): Promise<void> {
  const { options } = parseTargetUrl(serverUrl);
  const admin = await mysql.createConnection(options);
  const database = `mrb_binlog_${randomBytes(3).toString('hex')}`;
  try {
    await admin.query(`create database ${database}`);
    await admin.query(
      `create table ${database}.work_order (id int primary key, status varchar(20), qty decimal(12,4), planned datetime(6)) engine=InnoDB`,
    );
    const start = binlogEnd(await listBinlogFiles(admin));
    const queuedAt = performance.now();
    await queue(serverUrl, database);
    say(
      `queued ${transactions} single-row transactions in ${round((performance.now() - queuedAt) / 1000, 1)} s`,
    );
    const filesNow = await listBinlogFiles(admin);
    const range = binlogRange(filesNow, start, binlogEnd(filesNow));
    const ours: number[] = [];
    const raw: number[] = [];
    for (let run = 0; run < runs; run++) {
      raw.push(await decodeBinlogRange(new URL(serverUrl), range));
      ours.push(await millraceRun(serverUrl, database, admin, start));
      say(
        `run ${run + 1}: millrace ${round(ours.at(-1) as number, 0)} ms, mariadb-binlog ${round(raw.at(-1) as number, 0)} ms`,
      );
    }
    const oursMs = median(ours);
    const rawMs = median(raw);
    say(
      `binlog range: ${range.files.join(', ')} (${range.start} .. ${range.stop}); other databases' events in it are read by both`,
    );
    say(
      `millrace BinlogSource: ${round(transactions / (oursMs / 1000), 0)} transactions/s (median ${round(oursMs, 0)} ms)`,
    );
    say(
      `mariadb-binlog -v decode-rows: ${round(transactions / (rawMs / 1000), 0)} transactions/s (median ${round(rawMs, 0)} ms)`,
    );
    say(`ratio (millrace time / mariadb-binlog time): ${round(oursMs / rawMs, 2)}`);
  } finally {
    await admin.query(`drop database if exists ${database}`);
    await admin.end();
  }
}

await main();
