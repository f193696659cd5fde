import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BinlogQuery } from '../../../src/mysql/binlog/binlog-files.js';
import { listBinlogFiles } from '../../../src/mysql/binlog/binlog-files.js';
import { encodeBinlogPosition } from '../../../src/mysql/binlog/binlog-position.js';
import { checkBinlogSetup } from '../../../src/mysql/binlog/binlog-setup-check.js';
import { readBinlogStatus } from '../../../src/mysql/binlog/binlog-status.js';
import { createTestDatabases, type TestDatabases } from '../../support/databases.js';

/** A server that answers the setup check's two queries with these settings and grants. */
function fakeServer(
  settings: { logBin?: number; format?: string; image?: string; version?: string },
  grants: string[],
): BinlogQuery {
  return {
    async query(sql: string) {
      if (sql.startsWith('SELECT @@log_bin')) {
        return [
          [
            {
              logBin: settings.logBin ?? 1,
              format: settings.format ?? 'ROW',
              image: settings.image ?? 'FULL',
              version: settings.version ?? '10.11.19-MariaDB-log',
              user: 'mes_reader@%',
            },
          ],
          [],
        ];
      }
      if (sql === 'SHOW GRANTS') {
        return [grants.map((grant) => ({ 'Grants for mes_reader@%': grant })), []];
      }
      throw new Error(`unexpected query ${sql}`);
    },
  };
}

const enough = 'GRANT BINLOG MONITOR, REPLICATION SLAVE ON *.* TO `mes_reader`@`%`';

describe('checkBinlogSetup', () => {
  it('finds nothing wrong with a ROW/FULL binlog and a user allowed to read it', async () => {
    expect(await checkBinlogSetup(fakeServer({}, [enough]))).toEqual([]);
  });

  it('names the fix for a binlog that is off', async () => {
    const problems = await checkBinlogSetup(fakeServer({ logBin: 0 }, [enough]));
    expect(problems).toEqual([
      { check: 'log_bin', message: expect.stringMatching(/binary log is off: .*log_bin.*restart/) },
    ]);
  });

  it('names the fix for a MIXED format, a MINIMAL row image and missing privileges', async () => {
    const problems = await checkBinlogSetup(
      fakeServer({ format: 'MIXED', image: 'MINIMAL' }, [
        'GRANT SELECT ON `mes`.* TO `mes_reader`@`%`',
        'GRANT USAGE ON *.* TO `mes_reader`@`%`',
      ]),
    );
    expect(problems.map((problem) => problem.message)).toEqual([
      expect.stringContaining(
        'binlog_format is MIXED: the return path needs ROW; set `binlog_format = ROW`',
      ),
      expect.stringContaining('binlog_row_image is MINIMAL: the return path needs FULL'),
      "the MES user 'mes_reader'@'%' cannot read the binlog as a replica: GRANT REPLICATION SLAVE ON *.* TO 'mes_reader'@'%'",
      "the MES user 'mes_reader'@'%' cannot list the binlog files: GRANT BINLOG MONITOR ON *.* TO 'mes_reader'@'%'",
    ]);
  });

  it('asks MySQL for REPLICATION CLIENT', async () => {
    const problems = await checkBinlogSetup(
      fakeServer({ version: '8.4.5' }, ['GRANT REPLICATION SLAVE ON *.* TO `mes_reader`@`%`']),
    );
    expect(problems.map((problem) => problem.message)).toEqual([
      expect.stringContaining('GRANT REPLICATION CLIENT ON *.* TO'),
    ]);
  });
});

describe('the real MES', () => {
  let db: TestDatabases;
  beforeAll(async () => {
    db = await createTestDatabases('binlog setup');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('passes the setup check (binlog ON, ROW, FULL; root may read it)', async () => {
    expect(await checkBinlogSetup(db.mysql)).toEqual([]);
  });

  it('reports the current position, GTID, oldest file and how far a checkpoint is from it', async () => {
    const files = await listBinlogFiles(db.mysql);
    const oldest = files[0];
    const newest = files.at(-1);
    if (!oldest || !newest) throw new Error('no binlog files');
    const checkpoint = encodeBinlogPosition({ fileIndex: newest.index, offset: 4 });
    const status = await readBinlogStatus(db.mysql, checkpoint);
    expect(status.oldestFile).toBe(oldest.name);
    expect(status.gtid).toMatch(/^\d+-\d+-\d+/);
    expect(status.current.file).toMatch(/\.\d{6}$/);
    expect(status.current.lsn >> 32n).toBeGreaterThanOrEqual(BigInt(newest.index));
    expect(status.checkpoint).toMatchObject({
      file: newest.name,
      position: 4,
      purged: false,
      filesAfterOldest: newest.index - oldest.index,
    });
    expect(status.checkpoint?.bytesAfterOldest).toBeGreaterThanOrEqual(4);
    const purged = await readBinlogStatus(
      db.mysql,
      encodeBinlogPosition({ fileIndex: oldest.index - 1, offset: 4 }),
    );
    expect(purged.checkpoint).toMatchObject({
      purged: true,
      bytesAfterOldest: 0,
      filesAfterOldest: 0,
    });
  });
});
