import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DigestPlan } from '../../src/audit/digest-plan.js';
import { querySource } from '../../src/audit/source-reader.js';
import {
  type BucketRange,
  bucketKeyIntervals,
  sourceBucketDigests,
  sourceBucketRows,
  targetBucketDigests,
  targetBucketRows,
} from '../../src/audit/sql/bucket-digests.js';
import { queryRows } from '../../src/audit/target-reader.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/**
 * The digest walk's statements: which keys a row read covers, and that both databases read a
 * range by the key's index, never by scanning the table (a 1M-row audit would otherwise take
 * minutes: a row read planned as a join once scanned the whole table for every bucket).
 */
const plan: DigestPlan = {
  sourceKey: '"id"',
  sourceFields: [
    { sql: '("id")::text', text: false },
    { sql: '("name")::text', text: true },
  ],
  sourceFilter: undefined,
  keyFields: 1,
  targetKey: '`id`',
  targetRowSql: "CONCAT_WS('', CAST(`id` AS CHAR), ';', LENGTH(`name`), ':', `name`)",
  targetOrderSql: '`id`',
};

const table = { schema: 'public', table: 'item' };
/** The CRM's table is large enough that scanning it in key order looks cheap to the planner. */
const sourceRows = 1_000_000;
const rows = 20_000;

describe('bucket statements', () => {
  it('covers exactly the keys of the listed buckets, joined where they touch', () => {
    const range: BucketRange = { first: 100n, last: 199n, width: 10n };
    expect(bucketKeyIntervals(range, [0n, 1n, 3n, 9n])).toEqual([
      { low: 100n, high: 119n },
      { low: 130n, high: 139n },
      { low: 190n, high: 199n },
    ]);
    // Fine buckets of 4 keys over coarse buckets of 10 (from 100): only coarse 0 and 2 differ,
    // so a fine bucket straddling into a clean coarse one reads only its own part.
    const fine: BucketRange = {
      first: 100n,
      last: 129n,
      width: 4n,
      within: { first: 100n, width: 10n, buckets: [0n, 2n] },
    };
    expect(bucketKeyIntervals(fine, [0n, 1n, 2n, 4n, 5n, 6n, 7n])).toEqual([
      { low: 100n, high: 109n },
      { low: 120n, high: 129n },
    ]);
  });

  describe('on the databases', () => {
    let dbs: TestDatabases;

    beforeAll(async () => {
      dbs = await createTestDatabases('bucket_statements');
      await dbs.pg.query(
        `create table item (id bigint primary key, name text not null);
         insert into item select g, 'name ' || g from generate_series(1, ${sourceRows}) g;
         analyze item`,
      );
      await dbs.mysql.query(
        'create table item (id bigint not null primary key, name varchar(32) not null)',
      );
      await dbs.mysql.query('insert into item (id, name) values ?', [
        Array.from({ length: rows }, (_, i) => [i + 1, `name ${i + 1}`]),
      ]);
      await dbs.mysql.query('analyze table item');
    }, 60_000);

    afterAll(async () => {
      await dbs?.drop();
    });

    const range: BucketRange = { first: 1n, last: BigInt(rows), width: 8n };
    const intervals = bucketKeyIntervals(range, [3n, 700n, 701n, 2000n]);
    // As many as one row read asks for at most, every other bucket.
    const many = bucketKeyIntervals(
      range,
      Array.from({ length: 512 }, (_, i) => BigInt(i * 2)),
    );

    type Statement = { readonly text: string; readonly values: readonly unknown[] };

    async function pgPlan(statement: Statement) {
      const { rows: plan } = await dbs.pg.query<{ 'QUERY PLAN': string }>({
        text: `explain ${statement.text}`,
        values: [...statement.values],
      });
      return plan.map((line) => line['QUERY PLAN']).join('\n');
    }

    it('reads source buckets by index range scans', async () => {
      const digests = await pgPlan(sourceBucketDigests(table, plan, range, { from: 0n, to: 99n }));
      const read = await pgPlan(sourceBucketRows(table, ['id', 'name'], plan, many));
      // Each bucket or interval is its own index range scan: its bounds are the index
      // condition, not a filter over a scan of the whole index or table.
      expect(digests).toMatch(/Index Scan using item_pkey on item\s.*\n\s*Index Cond: \(\(id >= /);
      expect(read).toMatch(/Index Cond: \(\(id >= g\.low\) AND \(id <= g\.high\)\)/);
      for (const text of [digests, read]) expect(text).not.toMatch(/Seq Scan|Join Filter|Parallel/);
      const found = await querySource(
        dbs.pg,
        sourceBucketRows(table, ['id', 'name'], plan, intervals),
      );
      expect(found.map((row) => Number(row[0]))).toEqual([
        ...[25, 26, 27, 28, 29, 30, 31, 32],
        ...Array.from({ length: 16 }, (_, i) => 5601 + i),
        ...Array.from({ length: 8 }, (_, i) => 16_001 + i),
      ]);
    });

    it('reads target buckets by index ranges, and digests them as the source does', async () => {
      const window = { from: 0n, to: 99n };
      const digests = targetBucketDigests('item', plan, range, window, undefined, undefined);
      const read = targetBucketRows('item', ['id', 'name'], plan, intervals, undefined);
      for (const statement of [digests, read]) {
        const [explained] = await dbs.mysql.query(`explain ${statement.sql}`, [
          ...statement.values,
        ]);
        const access = (explained as { table: string; type: string }[]).find(
          (row) => row.table === 'item',
        );
        expect(access?.type, statement.sql).toBe('range');
      }
      const targetDigest = await queryRows(dbs.mysql, digests);
      const sourceDigest = await querySource(
        dbs.pg,
        sourceBucketDigests(table, plan, range, window),
      );
      const [buckets, count, text] = targetDigest[0]!;
      expect([String(buckets), String(count), text]).toEqual(sourceDigest[0]);
      expect(sourceDigest[0]).toEqual(['100', '800', expect.stringMatching(/^0:8:[0-9a-f]{32},/)]);
    });
  });
});
