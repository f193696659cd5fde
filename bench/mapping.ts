import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { compileMappings } from '../src/mapping/compile-mappings.js';
import type { ChangeMeta, SourceRow } from '../src/mapping/compiled-mapping.js';
import { loadMappings } from '../src/mapping/load-mappings.js';
import { mappedTables } from '../src/mapping/mapping-index.js';
import { introspectTarget } from '../src/mysql/introspect.js';
import { parseTargetUrl } from '../src/mysql/mysql-client.js';
import { introspectSource } from '../src/postgres/introspect.js';
import { pgClientConfig } from '../src/postgres/pg-client.js';
import {
  loadCrmFixture,
  migrateReferenceStaging,
  referenceMappingsDir,
} from '../test/fixtures/crm-fixture.js';

/**
 * Throughput of the compiled reference mappings (filter + project: every value through the
 * values module) on the fixture CRM's rows, in memory: no database in the timed part.
 *
 *   npm run build && node dist/bench/mapping.js [scale=5000] [seconds per mapping=3]
 *
 * Uses scratch databases on the servers of CRM_DATABASE_URL / MES_DATABASE_URL (defaults: local)
 * and drops them afterwards.
 */

const scale = Number(process.argv[2] ?? 5000);
const seconds = Number(process.argv[3] ?? 3);
const crmServer = process.env.CRM_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/crm';
const mesServer = process.env.MES_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/mes';
const name = `mrb_mapping_${randomBytes(3).toString('hex')}`;

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function write(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  const admin = new pg.Client(pgClientConfig({ url: withDatabase(crmServer, 'postgres') }));
  await admin.connect();
  const myAdmin = await mysql.createConnection(parseTargetUrl(mesServer).options);
  await admin.query(`create database ${name}`);
  await myAdmin.query(`create database ${name} character set utf8mb4 collate utf8mb4_unicode_ci`);
  const crmUrl = withDatabase(crmServer, name);
  const mesUrl = withDatabase(mesServer, name);
  const crm = new pg.Client(pgClientConfig({ url: crmUrl }));
  await crm.connect();
  const mes = await mysql.createConnection({ ...parseTargetUrl(mesUrl).options, database: name });
  try {
    await loadCrmFixture(crm, scale);
    await migrateReferenceStaging({ mesUrl, crmUrl });
    const specs = loadMappings(referenceMappingsDir);
    const tables = mappedTables(specs);
    const schemas = {
      source: await introspectSource(crm, tables.source),
      target: await introspectTarget(mes, tables.target),
    };
    const mappings = compileMappings(specs, schemas);
    const meta: ChangeMeta = { lsn: 0x16b374d848n, syncedAt: new Date() };
    write(
      `compiled mapping throughput, fixture scale ${scale}, ${seconds}s per mapping (node ${process.version})`,
    );
    write('mapping                    rows   passed  rows/s      values/s');
    let allRows = 0;
    let allValues = 0;
    let allTime = 0;
    for (const mapping of mappings) {
      const columns = mapping.sourceColumns.map((column) => `"${column}"`).join(', ');
      const { rows } = await crm.query(`select ${columns} from ${mapping.sourceKey}`);
      const sourceRows = rows as SourceRow[];
      // Warm up the closures before timing them.
      for (const row of sourceRows.slice(0, 2000))
        if (mapping.matches(row) !== false) mapping.project(row, meta);
      let processed = 0;
      let values = 0;
      let passed = 0;
      const started = performance.now();
      let elapsed = 0;
      while (elapsed < seconds * 1000) {
        passed = 0;
        for (const row of sourceRows) {
          if (mapping.matches(row) === false) continue;
          passed++;
          const target = mapping.project(row, meta);
          for (const _ in target) values++;
        }
        processed += sourceRows.length;
        elapsed = performance.now() - started;
      }
      allRows += processed;
      allValues += values;
      allTime += elapsed;
      const perSecond = (count: number) =>
        Math.round((count / elapsed) * 1000).toLocaleString('en-US');
      write(
        `${mapping.name.padEnd(24)} ${String(sourceRows.length).padStart(6)} ${String(passed).padStart(8)}  ${perSecond(processed).padStart(10)}  ${perSecond(values).padStart(12)}`,
      );
    }
    write(
      `all mappings: ${Math.round((allRows / allTime) * 1000).toLocaleString('en-US')} rows/s, ${Math.round((allValues / allTime) * 1000).toLocaleString('en-US')} values/s`,
    );
  } finally {
    await crm.end().catch(() => undefined);
    await mes.end().catch(() => undefined);
    await admin.query(`drop database if exists ${name} with (force)`);
    await myAdmin.query(`drop database if exists ${name}`);
    await admin.end();
    await myAdmin.end();
  }
}

await main();
