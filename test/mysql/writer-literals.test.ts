import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { connectTarget, type MysqlConnection } from '../../src/mysql/mysql-client.js';
import { TargetWriter } from '../../src/mysql/writer.js';
import type { TargetValue } from '../../src/values/column-types.js';
import type { DeadLetter, Origin, RowWrite, WriteChunk } from '../../src/writes/write-chunk.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { migrateControlTables } from '../support/schemas.js';

const origin: Origin = { mapping: 'values', lsn: 0x3000n, operation: 'insert', sourceValues: {} };

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, index) => index));

/** Every value family the writer binds, with the characters an escaper can get wrong. */
const rows: Record<string, TargetValue>[] = [
  {
    id: 1,
    s: "it's",
    t: "back\\slash \\' \\\\ end\\",
    b: allBytes,
    d: '12345678901234567890.1234567890',
    f: 1.5,
    u: 18446744073709551615n,
    n: null,
  },
  {
    id: 2,
    s: 'nul\u0000in the middle',
    t: '"double" `back` \'single\' %_ ? ?? :name',
    b: Buffer.alloc(0),
    d: '-0.0000000001',
    f: -2.5e-300,
    u: 0n,
    n: 'x',
  },
  {
    id: 3,
    s: 'emoji 😀🎉 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
    t: 'high code points: \u{10FFFF}\u{1F600}\uFFFD\u00FF\u0100',
    b: Buffer.from([0, 39, 92, 34, 26, 10, 13]),
    d: '0',
    f: 0,
    u: 9007199254740993n,
    n: null,
  },
  {
    id: 4,
    s: 'line\nbreak\rreturn\ttab\x1actrl-z\bback',
    t: "'; DROP TABLE lit; -- ",
    b: Buffer.from("\\'", 'utf8'),
    d: '99999999999999999999.9999999999',
    f: 1.7976931348623157e308,
    u: 42,
    n: '',
  },
  {
    id: 5,
    s: '',
    t: '\\0 \\n \\Z not escapes, just text',
    b: Buffer.from('ff00', 'hex'),
    d: null,
    f: null,
    u: null,
    n: null,
  },
];

const columns =
  'id INT PRIMARY KEY, s VARCHAR(200) CHARACTER SET utf8mb4 NULL, t LONGTEXT CHARACTER SET utf8mb4 NULL, b LONGBLOB NULL, d DECIMAL(30,10) NULL, f DOUBLE NULL, u BIGINT UNSIGNED NULL, n VARCHAR(10) NULL';

/** Each column's stored bytes, so equal means byte-identical (HEX of text is of its utf8mb4 bytes). */
const readBack = (table: string) =>
  `SELECT id, HEX(s) s, HEX(t) t, HEX(b) b, CAST(d AS CHAR) d, f, CAST(u AS CHAR) u, HEX(n) n, s IS NULL sn, n IS NULL nn FROM ${table} ORDER BY id`;

function upserts(table: string, values: readonly Record<string, TargetValue>[]): WriteChunk {
  return {
    resets: [],
    tables: [
      {
        table,
        keyColumns: ['id'],
        deletes: [],
        updates: [],
        upserts: values.map((row): RowWrite => ({ key: [row.id!], row, origin })),
      },
    ],
    deadLetters: [],
  };
}

describe('TargetWriter literals against MariaDB', () => {
  let dbs: TestDatabases;
  let conn: MysqlConnection;

  beforeAll(async () => {
    dbs = await createTestDatabases('writer_literals');
    await migrateControlTables(dbs.mesUrl);
    conn = await connectTarget({
      url: dbs.mesUrl,
      timeoutMs: 5_000,
      logger: silentLogger(),
      multipleStatements: true,
    });
  }, 60_000);

  afterAll(async () => {
    await conn?.end();
    await dbs?.drop();
  });

  it('stores every value family byte for byte as the driver placeholders do', async () => {
    await dbs.mysql.query(`CREATE TABLE lit (${columns})`);
    await dbs.mysql.query(`CREATE TABLE placeheld (${columns})`);
    const writer = new TargetWriter({ connection: conn, logger: silentLogger(), onBadRow: 'stop' });
    await writer.apply(upserts('lit', rows));
    await writer.commit();
    for (const row of rows) {
      const names = Object.keys(row);
      await dbs.mysql.query(
        `INSERT INTO placeheld (${names.join(',')}) VALUES (${names.map(() => '?').join(',')})`,
        names.map((name) => row[name]),
      );
    }
    const [literal] = await dbs.mysql.query(readBack('lit'));
    const [placeheld] = await dbs.mysql.query(readBack('placeheld'));
    expect(literal).toEqual(placeheld);
    // And both are the values themselves, not merely the same mistake twice.
    const [back] = await dbs.mysql.query('SELECT s, t, b, n FROM lit ORDER BY id');
    expect(back).toEqual(rows.map(({ s, t, b, n }) => ({ s, t, b, n })));
    // Updates, deletes and owner clauses take the same literals in their SET and key lists.
    await writer.apply({
      resets: [],
      tables: [
        {
          table: 'lit',
          keyColumns: ['s'],
          deletes: [{ key: ["it's"], origin }],
          updates: [{ key: ['nul\u0000in the middle'], row: { t: "o'\\\u0000😀" }, origin }],
          upserts: [],
        },
      ],
      deadLetters: [],
    });
    await writer.commit();
    const [after] = await dbs.mysql.query('SELECT id, t FROM lit WHERE id <= 2 ORDER BY id');
    expect(after).toEqual([{ id: 2, t: "o'\\\u0000😀" }]);
  }, 60_000);

  it('dead-letters exactly the refused row of a multi-row statement and keeps the rest of the chunk', async () => {
    await dbs.mysql.query('CREATE TABLE narrow (id INT PRIMARY KEY, name VARCHAR(5) NOT NULL)');
    await dbs.mysql.query("INSERT INTO narrow VALUES (1, 'old'), (2, 'old')");
    const letters: DeadLetter[] = [];
    const writer = new TargetWriter({
      connection: conn,
      logger: silentLogger(),
      onBadRow: 'deadletter',
      onDeadLetter: (letter) => letters.push(letter),
    });
    const names = ['a', 'b', 'too long by far', 'd', "e'\\"];
    const chunk: WriteChunk = {
      resets: [],
      tables: [
        {
          table: 'narrow',
          keyColumns: ['id'],
          deletes: [{ key: [1], origin }],
          updates: [],
          upserts: names.map((name, index) => ({
            key: [index + 10],
            row: { id: index + 10, name },
            origin,
          })),
        },
        {
          table: 'narrow',
          keyColumns: ['id'],
          deletes: [],
          updates: [{ key: [2], row: { name: 'new' }, origin }],
          upserts: [],
        },
      ],
      deadLetters: [],
    };
    const stats = await writer.apply(chunk);
    await writer.commit({ checkpoint: { slot: 'narrow_slot', lsn: 0x3000n } });
    expect(stats.deadLetters).toBe(1);
    expect(letters.map((letter) => letter.key)).toEqual([{ id: 12 }]);
    const [stored] = await dbs.mysql.query('SELECT id, name FROM narrow ORDER BY id');
    expect(stored).toEqual([
      { id: 2, name: 'new' },
      { id: 10, name: 'a' },
      { id: 11, name: 'b' },
      { id: 13, name: 'd' },
      { id: 14, name: "e'\\" },
    ]);
    const [recorded] = await dbs.mysql.query(
      'SELECT mapping_name, key_values, error FROM millrace_dead_letters',
    );
    expect(recorded).toEqual([
      {
        mapping_name: 'values',
        key_values: '{"id":12}',
        error: expect.stringMatching(/1406|long/),
      },
    ]);
    const [checkpoints] = await dbs.mysql.query(
      "SELECT lsn_text FROM millrace_checkpoints WHERE slot_name = 'narrow_slot'",
    );
    expect(checkpoints).toEqual([{ lsn_text: '0/3000' }]);
  }, 60_000);
});
