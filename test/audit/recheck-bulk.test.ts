import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditReportSchema } from '../../src/audit/audit-report.js';
import { finished, startCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { createMarkedTable, type MarkedTable } from '../support/marked-table.js';
import {
  catchUp,
  createReplication,
  dropReplication,
  endRun,
  type RunningCli,
  replicationEnv,
  startRun,
  uniqueName,
  waitFor,
  waitForReplicating,
} from '../support/replication.js';
import { proxyFor, type TcpProxy, throughProxy } from '../support/tcp-proxy.js';
import { mappingOf } from './support.js';

const thing: MarkedTable = {
  crm: 'thing (id int primary key, n int not null, v text not null)',
  mes: 'stg_thing (id int primary key, n int not null, v varchar(40) not null)',
  mapping:
    '{ name: things, source: public.thing, target: stg_thing, key: { id: id }, columns: { n: n, v: v } }',
};

/**
 * With a replicator active, every difference is re-checked once the
 * target has caught up, however many there are: a bulk update of 30,000 rows (more than the
 * audit keeps in memory) in flight during the audit is no difference, and a real one made at
 * the same time is still found. The replicator's MES connection goes through a proxy that holds
 * the bulk update back until the audit's main pass has seen it.
 */
describe('millrace audit during a bulk update larger than the kept differences', () => {
  let dbs: TestDatabases;
  let proxy: TcpProxy;
  let name: string;
  let env: NodeJS.ProcessEnv;
  let run: RunningCli | undefined;

  beforeAll(async () => {
    dbs = await createTestDatabases('audit_bulk');
    const mappingsDir = await createMarkedTable(dbs, thing);
    name = uniqueName('bulk');
    await createReplication(dbs, name, ['thing', 'sync_marker']);
    await dbs.pg.query(`insert into thing select g, 0, 'v' || g from generate_series(1, 40000) g`);
    proxy = await proxyFor(dbs.mesUrl);
    env = replicationEnv(dbs, name, mappingsDir);
  });

  afterEach(async () => {
    proxy?.resume();
    await endRun(run);
    run = undefined;
  });

  afterAll(async () => {
    await proxy?.close();
    if (dbs !== undefined) await dropReplication(dbs, name).catch(() => undefined);
    await dbs?.drop();
  });

  /**
   * Holds the replicator back, bulk-updates 30,000 rows (plus `tamper` on the MES), audits, and
   * lets the replicator go on once the audit's main pass is done.
   */
  async function auditDuringBulkUpdate(round: number, tamper?: string) {
    proxy.stall();
    await dbs.pg.query(`update thing set n = $1, v = 'bulk ' || $1::int where id <= 30000`, [
      round,
    ]);
    if (tamper !== undefined) await dbs.mysql.query(tamper);
    const child = startCli(
      ['audit', '--format', 'json', '--settle-timeout', '60', '--log-level', 'info'],
      env,
    );
    const result = finished(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    await waitFor(
      'the main pass',
      async () => /"mapping":"things".*mapping compared/.test(stderr),
      60_000,
    );
    proxy.resume();
    const outcome = await result;
    const report = auditReportSchema.parse(JSON.parse(outcome.stdout));
    return { outcome, report };
  }

  it('exits 0 once the replicator caught up, and 1 naming only a real difference', async () => {
    run = startRun(['--heartbeat', '1'], {
      ...env,
      MES_DATABASE_URL: throughProxy(dbs.mesUrl, proxy),
    });
    await waitForReplicating(run);
    await catchUp(dbs, 60_000);

    const clean = await auditDuringBulkUpdate(1);
    expect(clean.outcome.code, clean.outcome.stderr).toBe(0);
    expect(clean.report.consistent).toBe(true);
    expect(clean.outcome.stderr).toContain('"replicatorActive":true');
    // The main pass did see the bulk update in flight: more than the kept differences.
    const rechecked = /"resolved":(\d+)/.exec(clean.outcome.stderr);
    expect(Number(rechecked?.[1] ?? 0)).toBeGreaterThan(20_000);

    const tampered = await auditDuringBulkUpdate(
      2,
      `update stg_thing set v = 'tampered' where id = 35000`,
    );
    expect(tampered.outcome.code, tampered.outcome.stderr).toBe(1);
    const things = mappingOf(tampered.report, 'things');
    expect({ missing: things.missing, extra: things.extra, different: things.different }).toEqual({
      missing: 0,
      extra: 0,
      different: 1,
    });
    expect(things.samples.different).toEqual([
      { key: { id: '35000' }, columns: { v: { source: 'v35000', target: 'tampered' } } },
    ]);
  }, 180_000);
});
