import { describe, expect, it } from 'vitest';
import { UNCHANGED } from '../../src/mapping/compiled-mapping.js';
import { PgoutputDecoder } from '../../src/postgres/pgoutput/pgoutput-decoder.js';
import { MillracePgoutputPlugin } from '../../src/postgres/pgoutput/pgoutput-plugin.js';

/** Builds pgoutput messages byte by byte, as the protocol documentation lays them out. */
class Message {
  private readonly parts: Buffer[] = [];

  constructor(tag: string) {
    this.byte(tag);
  }

  byte(value: string | number): this {
    this.parts.push(Buffer.from([typeof value === 'string' ? value.charCodeAt(0) : value]));
    return this;
  }

  int16(value: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(value);
    this.parts.push(b);
    return this;
  }

  int32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(value >>> 0);
    this.parts.push(b);
    return this;
  }

  int64(value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt.asUintN(64, value));
    this.parts.push(b);
    return this;
  }

  string(value: string): this {
    this.parts.push(Buffer.from(value, 'utf8'), Buffer.from([0]));
    return this;
  }

  /** TupleData: a string is 't', null is 'n', UNCHANGED is 'u'. */
  tuple(values: readonly (string | null | typeof UNCHANGED)[]): this {
    this.int16(values.length);
    for (const value of values) {
      if (value === null) this.byte('n');
      else if (value === UNCHANGED) this.byte('u');
      else {
        const text = Buffer.from(value, 'utf8');
        this.byte('t').int32(text.length);
        this.parts.push(text);
      }
    }
    return this;
  }

  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Microseconds from 2000-01-01 to 2026-12-01T22:00:00.123456Z. */
const commitMicros =
  BigInt(Date.UTC(2026, 11, 1, 22, 0, 0, 123) - Date.UTC(2000, 0, 1)) * 1000n + 456n;
const commitMs = Date.UTC(2026, 11, 1, 22, 0, 0, 123);
/** Above 2^53: an LSN a double would round. */
const bigLsn = (0xfedcba98n << 32n) | 0x76543211n;

function relation(
  oid: number,
  schema: string,
  name: string,
  columns: readonly { name: string; typeOid: number; key?: boolean }[],
): Buffer {
  const message = new Message('R').int32(oid).string(schema).string(name).byte('d');
  message.int16(columns.length);
  for (const column of columns) {
    message
      .byte(column.key ? 1 : 0)
      .string(column.name)
      .int32(column.typeOid)
      .int32(-1);
  }
  return message.build();
}

const orders = relation(16_384, 'public', 'orders', [
  { name: 'id', typeOid: 23, key: true },
  { name: 'note', typeOid: 25 },
  { name: 'memo', typeOid: 25 },
]);

function decoderWithOrders(): PgoutputDecoder {
  const decoder = new PgoutputDecoder();
  decoder.decode(orders);
  return decoder;
}

describe('PgoutputDecoder', () => {
  it('decodes Begin and Commit with LSNs above 2^53 exactly and the commit time in ms', () => {
    const decoder = new PgoutputDecoder();
    const begin = new Message('B').int64(bigLsn).int64(commitMicros).int32(0xfffffffe).build();
    expect(decoder.decode(begin)).toEqual({ kind: 'begin', finalLsn: bigLsn, xid: 0xfffffffe });
    const commit = new Message('C')
      .byte(0)
      .int64(bigLsn)
      .int64(bigLsn + 48n)
      .int64(commitMicros)
      .build();
    expect(decoder.decode(commit)).toEqual({
      kind: 'commit',
      endLsn: bigLsn + 48n,
      commitTimeMs: commitMs,
    });
  });

  it('decodes a Relation and an Insert with nulls and unicode', () => {
    const decoder = new PgoutputDecoder();
    expect(decoder.decode(orders)).toEqual({
      kind: 'relation',
      table: 'public.orders',
      columns: [
        { name: 'id', typeOid: 23 },
        { name: 'note', typeOid: 25 },
        { name: 'memo', typeOid: 25 },
      ],
    });
    const insert = new Message('I')
      .int32(16_384)
      .byte('N')
      .tuple(['7', 'Grüße, 東京 🚀', null])
      .build();
    expect(decoder.decode(insert)).toEqual({
      kind: 'insert',
      table: 'public.orders',
      row: { id: '7', note: 'Grüße, 東京 🚀', memo: null },
      old: null,
    });
  });

  it('decodes an Update: no old key, the old key, the whole old row; unchanged TOAST', () => {
    const decoder = decoderWithOrders();
    const plain = new Message('U').int32(16_384).byte('N').tuple(['7', 'a', UNCHANGED]).build();
    expect(decoder.decode(plain)).toEqual({
      kind: 'update',
      table: 'public.orders',
      row: { id: '7', note: 'a', memo: UNCHANGED },
      old: null,
    });
    // A key change: 'K' carries the key columns, the others as null placeholders.
    const keyed = new Message('U')
      .int32(16_384)
      .byte('K')
      .tuple(['6', null, null])
      .byte('N')
      .tuple(['7', null, UNCHANGED])
      .build();
    expect(decoder.decode(keyed)).toEqual({
      kind: 'update',
      table: 'public.orders',
      row: { id: '7', note: null, memo: UNCHANGED },
      old: { id: '6' },
    });
    // REPLICA IDENTITY FULL: the new row's unchanged value comes from the old row.
    const full = new Message('U')
      .int32(16_384)
      .byte('O')
      .tuple(['7', 'a', 'long memo'])
      .byte('N')
      .tuple(['7', 'b', UNCHANGED])
      .build();
    expect(decoder.decode(full)).toEqual({
      kind: 'update',
      table: 'public.orders',
      row: { id: '7', note: 'b', memo: 'long memo' },
      old: { id: '7', note: 'a', memo: 'long memo' },
    });
  });

  it('decodes a Delete by key and with the whole old row', () => {
    const decoder = decoderWithOrders();
    const byKey = new Message('D').int32(16_384).byte('K').tuple(['7', null, null]).build();
    expect(decoder.decode(byKey)).toEqual({
      kind: 'delete',
      table: 'public.orders',
      row: null,
      old: { id: '7' },
    });
    const full = new Message('D').int32(16_384).byte('O').tuple(['7', null, 'x']).build();
    expect(decoder.decode(full)).toEqual({
      kind: 'delete',
      table: 'public.orders',
      row: null,
      old: { id: '7', note: null, memo: 'x' },
    });
  });

  it('decodes a Truncate of several relations', () => {
    const decoder = decoderWithOrders();
    decoder.decode(relation(16_390, 'sales', 'lines', [{ name: 'id', typeOid: 20, key: true }]));
    const truncate = new Message('T').int32(2).byte(0).int32(16_390).int32(16_384).build();
    expect(decoder.decode(truncate)).toEqual({
      kind: 'truncate',
      tables: ['sales.lines', 'public.orders'],
    });
  });

  it('decodes millrace messages and drops others; Type messages decode to nothing', () => {
    const decoder = new PgoutputDecoder();
    const message = (prefix: string, flags: number) =>
      new Message('M')
        .byte(flags)
        .int64(bigLsn)
        .string(prefix)
        .int32(Buffer.byteLength('{"w":"lö"}'))
        .string('{"w":"lö"}')
        .build();
    expect(decoder.decode(message('millrace.watermark', 1))).toEqual({
      kind: 'message',
      prefix: 'millrace.watermark',
      content: '{"w":"lö"}',
      transactional: true,
    });
    expect(decoder.decode(message('millrace.watermark', 0))).toMatchObject({
      transactional: false,
    });
    expect(decoder.decode(message('other', 1))).toBeUndefined();
    const type = new Message('Y').int32(90_000).string('public').string('mood').build();
    expect(decoder.decode(type)).toBeUndefined();
  });

  it('decodes an Origin', () => {
    const origin = new Message('O').int64(bigLsn).string('millrace_orders').build();
    expect(new PgoutputDecoder().decode(origin)).toEqual({
      kind: 'origin',
      name: 'millrace_orders',
    });
  });

  it('decodes rows by the latest Relation of a table (re-sent after DDL)', () => {
    const decoder = decoderWithOrders();
    const altered = relation(16_384, 'public', 'orders', [
      { name: 'id', typeOid: 23, key: true },
      { name: 'memo', typeOid: 25 },
      { name: 'qty', typeOid: 1700 },
    ]);
    expect(decoder.decode(altered)).toMatchObject({
      columns: [
        { name: 'id', typeOid: 23 },
        { name: 'memo', typeOid: 25 },
        { name: 'qty', typeOid: 1700 },
      ],
    });
    const insert = new Message('I').int32(16_384).byte('N').tuple(['8', 'm', '1.50']).build();
    expect(decoder.decode(insert)).toMatchObject({ row: { id: '8', memo: 'm', qty: '1.50' } });
  });

  it('keeps a column named __proto__ as a value', () => {
    const decoder = new PgoutputDecoder();
    decoder.decode(
      relation(1, 'public', 'odd', [
        { name: 'id', typeOid: 23, key: true },
        { name: '__proto__', typeOid: 25 },
      ]),
    );
    const event = decoder.decode(new Message('I').int32(1).byte('N').tuple(['1', 'p']).build());
    expect(event?.kind === 'insert' && Object.entries(event.row ?? {})).toEqual([
      ['id', '1'],
      ['__proto__', 'p'],
    ]);
  });

  it('refuses a change before its Relation and an unknown message, through the plugin as an error', () => {
    const plugin = new MillracePgoutputPlugin({ publication: 'p' });
    const orphan = new Message('I').int32(99).byte('N').tuple(['1']).build();
    expect(plugin.parse(orphan)).toMatchObject({
      code: 'STREAM_UNDECODABLE',
      message: expect.stringContaining('relation 99 before its Relation message'),
    });
    expect(plugin.parse(new Message('S').int32(1).build())).toMatchObject({
      code: 'STREAM_UNDECODABLE',
    });
  });
});
