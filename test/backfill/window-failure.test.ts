import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  execute,
  newRunStatement,
  readBackfills,
  resumeRunStatement,
} from '../../src/backfill/backfill-store.js';
import { OnlineBackfills } from '../../src/backfill/online-backfills.js';
import { watermarkPrefix } from '../../src/backfill/watermark-interceptor.js';
import { createLogger } from '../../src/log/logger.js';
import { compileMappings } from '../../src/mapping/compile-mappings.js';
import type { CompiledMapping } from '../../src/mapping/compiled-mapping.js';
import { loadMappings } from '../../src/mapping/load-mappings.js';
import { mappedTables } from '../../src/mapping/mapping-index.js';
import { introspectTarget } from '../../src/mysql/introspect.js';
import { connectTarget, type MysqlConnection } from '../../src/mysql/mysql-client.js';
import { TargetWriter } from '../../src/mysql/writer.js';
import { introspectSource } from '../../src/postgres/introspect.js';
import { connectSource, type PgClient, pgClientConfig } from '../../src/postgres/pg-client.js';
import { TargetBatch } from '../../src/writes/target-batch.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { waitFor, writeMappings } from '../support/replication.js';
import { createSchemas } from '../support/schemas.js';

const crm = `create table thing (id int primary key, v text not null);
  insert into thing select g, 'v' || g from generate_series(1, 1000) g;`;
const mes = ['create table stg_thing (id int primary key, v varchar(40) not null)'];
const yaml = `
- name: things
  source: public.thing
  target: stg_thing
  key: { id: id }
  columns: { v: v }
`;

/**
 * The replicator's side of an online backfill whose chunk read fails after its low watermark
 * (a real lock_timeout: the table is locked by another session once the low watermark is out).
 * The stream is played by the test: each watermark comes back at once, its batch is written
 * through the real writer and the committed position moves past it.
 */
describe('an online backfill window whose read fails', () => {
  let dbs: TestDatabases;
  let catalog: PgClient;
  let control: MysqlConnection;
  let writerConnection: MysqlConnection;
  let locker: pg.Client;
  let mappings: readonly CompiledMapping[];

  beforeAll(async () => {
    dbs = await createTestDatabases('bf_window');
    await createSchemas(dbs, crm, mes);
    const specs = loadMappings(writeMappings({ 'mappings.yaml': yaml }));
    const common = { timeoutMs: 5_000, logger: createLogger({ level: 'silent', pretty: false }) };
    catalog = await connectSource({ url: dbs.crmUrl, ...common });
    control = await connectTarget({ url: dbs.mesUrl, ...common });
    writerConnection = await connectTarget({ url: dbs.mesUrl, ...common });
    const tables = mappedTables(specs);
    mappings = compileMappings(specs, {
      source: await introspectSource(catalog, tables.source),
      target: await introspectTarget(control, tables.target),
    });
    locker = new pg.Client(pgClientConfig({ url: dbs.crmUrl }));
    await locker.connect();
  });

  afterAll(async () => {
    await locker?.end().catch(() => undefined);
    await catalog?.end().catch(() => undefined);
    await control?.end().catch(() => undefined);
    await writerConnection?.end().catch(() => undefined);
    await dbs?.drop();
  });

  it('is closed when the chunk read times out, and the backfill completes when asked again', async () => {
    await catalog.query(`set lock_timeout = '300ms'`);
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      pretty: false,
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString('utf8'));
          done();
        },
      }),
    });
    const writer = new TargetWriter({ connection: writerConnection, logger, onBadRow: 'stop' });
    let committed = 0n;
    let position = 0n;
    let delivery = Promise.resolve();
    let lockOnLow = true;
    let backfills: OnlineBackfills | undefined;

    // The stream: a watermark comes back in its own transaction, written and committed in order.
    const deliver = (body: string) => {
      const lsn = ++position;
      delivery = delivery.then(async () => {
        const batch = new TargetBatch();
        backfills!.interceptor.onMessage(
          { kind: 'message', prefix: watermarkPrefix, content: body, transactional: true },
          { batch, meta: { lsn, syncedAt: new Date() } },
        );
        if (batch.size > 0) await writer.apply(batch.take());
        await writer.commit();
        committed = lsn + 1n;
      });
    };
    const source = {
      query: async (...args: unknown[]) => {
        const result = await (catalog.query as (...a: unknown[]) => Promise<unknown>)(...args);
        if (typeof args[0] === 'string' && args[0].includes('pg_logical_emit_message')) {
          const body = (args[1] as unknown[])[1] as string;
          if (lockOnLow && body.includes('"mark":"low"')) {
            // Another session takes the table once the window is open: the read then times out.
            lockOnLow = false;
            await locker.query('begin');
            await locker.query('lock table thing in access exclusive mode');
          }
          deliver(body);
        }
        return result;
      },
    } as unknown as PgClient;

    backfills = new OnlineBackfills({
      catalog: source,
      control,
      mappings,
      committedLsn: () => committed,
      logger,
      pollIntervalMs: 100,
    });
    const run = {
      mapping: 'things',
      runId: randomUUID(),
      status: 'requested' as const,
      mode: null,
      chunkSize: 300,
      rowsTotal: null,
      prune: false,
      snapshotLsn: null,
    };
    await execute(control, newRunStatement(run));
    backfills.start();
    try {
      const status = async () => {
        const [rows] = await dbs.mysql.query(
          `select status, error from millrace_backfills where mapping_name = 'things'`,
        );
        return (rows as { status: string; error: string | null }[])[0]!;
      };
      await waitFor('the failed chunk read', async () => (await status()).status === 'failed');
      expect((await status()).error).toMatch(/lock/);
      // The window of the failed read was given up: nothing collects changed keys any more.
      expect(backfills.interceptor.openWindows).toBe(0);
      expect(lines.filter((line) => line.includes('online backfill failed'))).toHaveLength(1);

      await locker.query('commit');
      // As `millrace backfill` does for a failed run: asked again, resumed from its progress.
      const failed = (await readBackfills(control, ['things'])).get('things')!;
      await execute(control, resumeRunStatement(failed, 'requested', null, 300));
      await waitFor('the backfill asked again', async () => (await status()).status === 'done');
      expect(backfills.interceptor.openWindows).toBe(0);
      const [count] = await dbs.mysql.query('select count(*) as n from stg_thing');
      expect(Number((count as { n: string }[])[0]!.n)).toBe(1000);
    } finally {
      await locker.query('rollback').catch(() => undefined);
      await backfills.stop();
      await delivery.catch(() => undefined);
    }
  }, 60_000);
});
