import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import type { CompiledMapping, TargetRow } from '../../src/mapping/compiled-mapping.js';
import { connectTarget, type MysqlConnection } from '../../src/mysql/mysql-client.js';
import { TargetWriter } from '../../src/mysql/writer.js';
import { TargetBatch } from '../../src/writes/target-batch.js';
import type { Origin } from '../../src/writes/write-chunk.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { migrateControlTables } from '../support/schemas.js';

/** Only what the batch reads of a mapping: where rows go and their key. */
function tableMapping(target: string): CompiledMapping {
  return { name: target, target, keyColumns: ['id'] } as unknown as CompiledMapping;
}

type Op =
  | { kind: 'upsert'; id: number; row: { a?: string; b?: string | null } }
  | { kind: 'delete'; id: number }
  | { kind: 'update'; id: number; flag: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('upsert' as const),
    id: fc.integer({ min: 1, max: 4 }),
    row: fc.record(
      { a: fc.string({ maxLength: 3 }), b: fc.option(fc.string({ maxLength: 3 }), { nil: null }) },
      { requiredKeys: [] },
    ),
  }),
  fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 1, max: 4 }) }),
  fc.record({
    kind: fc.constant('update' as const),
    id: fc.integer({ min: 1, max: 4 }),
    flag: fc.integer({ min: 0, max: 1 }),
  }),
);

const origin: Origin = { mapping: 't', lsn: null, operation: 'update', sourceValues: null };

function addOp(batch: TargetBatch, mapping: CompiledMapping, op: Op): void {
  const key = [op.id];
  if (op.kind === 'upsert')
    batch.upsert(mapping, key, { id: op.id, ...op.row } as TargetRow, origin);
  else if (op.kind === 'delete') batch.delete(mapping, key, origin);
  else batch.update(mapping, key, { flag: op.flag }, origin);
}

describe('TargetBatch coalescing', () => {
  let dbs: TestDatabases;
  let conn: MysqlConnection;

  beforeAll(async () => {
    dbs = await createTestDatabases('target_batch');
    await migrateControlTables(dbs.mesUrl);
    conn = await connectTarget({
      url: dbs.mesUrl,
      timeoutMs: 5_000,
      logger: silentLogger(),
      multipleStatements: true,
    });
    for (const table of ['one_by_one', 'coalesced']) {
      await conn.query(
        `CREATE TABLE ${table} (id INT PRIMARY KEY, a VARCHAR(10) NOT NULL DEFAULT 'd', b VARCHAR(10) NULL, flag TINYINT NOT NULL DEFAULT 0)`,
      );
    }
  });

  afterAll(async () => {
    await conn?.end();
    await dbs?.drop();
  });

  async function snapshot(table: string): Promise<unknown[]> {
    const [rows] = await conn.query(`SELECT id, a, b, flag FROM ${table} ORDER BY id`);
    return rows as unknown[];
  }

  it('applying a coalesced batch equals applying its writes one by one', async () => {
    const writer = new TargetWriter({ connection: conn, logger: silentLogger(), onBadRow: 'stop' });
    const one = tableMapping('one_by_one');
    const coalesced = tableMapping('coalesced');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.string({ maxLength: 2 })), {
          maxLength: 4,
        }),
        fc.array(opArb, { maxLength: 25 }),
        async (seed, ops) => {
          for (const table of ['one_by_one', 'coalesced']) {
            await conn.query(`DELETE FROM ${table}`);
            for (const [id, a] of seed)
              await conn.query(`INSERT IGNORE INTO ${table} (id, a) VALUES (?, ?)`, [id, a]);
          }
          for (const op of ops) {
            const batch = new TargetBatch();
            addOp(batch, one, op);
            await writer.apply(batch.take());
          }
          const batch = new TargetBatch();
          for (const op of ops) addOp(batch, coalesced, op);
          await writer.apply(batch.take());
          await writer.commit();
          expect(await snapshot('coalesced')).toEqual(await snapshot('one_by_one'));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('in a table several sources write, each mapping removes only the rows it owns', async () => {
    await conn.query(
      'CREATE TABLE owned (id INT PRIMARY KEY, a VARCHAR(10) NULL, flag TINYINT NOT NULL DEFAULT 0, origin VARCHAR(4) NOT NULL)',
    );
    const owned = (value: string) =>
      ({
        ...tableMapping('owned'),
        name: value,
        owner: { column: 'origin', value },
      }) as unknown as CompiledMapping;
    const [a, b] = [owned('A'), owned('B')];
    await conn.query("INSERT INTO owned (id, a, origin) VALUES (1, 'x', 'A'), (2, 'y', 'B')");
    const writer = new TargetWriter({ connection: conn, logger: silentLogger(), onBadRow: 'stop' });
    const batch = new TargetBatch();
    batch.upsert(a, [3], { id: 3, a: 'z', origin: 'A' }, origin);
    batch.delete(b, [3], origin);
    batch.delete(a, [2], origin);
    batch.update(b, [1], { flag: 1 }, origin);
    await writer.apply(batch.take());
    await writer.commit();
    const rows = async () =>
      (await conn.query('SELECT id, a, flag, origin FROM owned ORDER BY id'))[0];
    expect(await rows()).toEqual([
      { id: 1, a: 'x', flag: 0, origin: 'A' },
      { id: 2, a: 'y', flag: 0, origin: 'B' },
      { id: 3, a: 'z', flag: 0, origin: 'A' },
    ]);
    batch.reset({ table: 'owned', owner: { column: 'origin', value: 'A' }, origin });
    await writer.apply(batch.take());
    await writer.commit();
    expect(await rows()).toEqual([{ id: 2, a: 'y', flag: 0, origin: 'B' }]);
  });

  it('insert then delete of one key becomes a single delete', () => {
    const batch = new TargetBatch();
    const mapping = tableMapping('x');
    batch.upsert(mapping, [1], { id: 1, a: 'x' }, origin);
    batch.delete(mapping, [1], origin);
    const chunk = batch.take();
    expect(chunk.tables[0]).toMatchObject({ deletes: [{ key: [1] }], upserts: [], updates: [] });
    expect(batch.size).toBe(0);
  });
});
