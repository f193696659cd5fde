import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { readCopyData } from '../../src/postgres/copy-reader.js';
import { type CopyFields, CopyTextParser } from '../../src/postgres/copy-text.js';
import { connectSource, type PgClient } from '../../src/postgres/pg-client.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/** Every row `pieces` hold, parsed piece by piece (the fields copied out of the reused array). */
function parseAll(width: number, pieces: readonly Buffer[]): (string | null)[][] {
  const parser = new CopyTextParser(width);
  const rows: (string | null)[][] = [];
  const keep = (fields: CopyFields) => rows.push([...fields]);
  for (const piece of pieces) parser.write(piece, keep);
  parser.end();
  return rows;
}

/** `bytes` cut into pieces of 1, 2, 3, … `max` bytes, round and round. */
function cut(bytes: Buffer, max: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0, size = 1; at < bytes.length; at += size, size = (size % max) + 1) {
    pieces.push(bytes.subarray(at, at + size));
  }
  return pieces;
}

describe('CopyTextParser', () => {
  // Written as PostgreSQL writes COPY text: tab between fields, \N for NULL, escapes for the
  // control characters and the backslash.
  const copyText = Buffer.from(
    [
      '1\tplain\t\\N',
      '2\t\t\\\\N',
      '3\ttab\\there\tnew\\nline',
      '4\tback\\\\slash\\\\\tcr\\rlf\\n',
      '5\t\\b\\f\\v\tü☃😀',
      '6\t\\\\\\\\\t\\\\t',
    ]
      .map((line) => `${line}\n`)
      .join(''),
    'utf8',
  );
  const expected = [
    ['1', 'plain', null],
    ['2', '', '\\N'],
    ['3', 'tab\there', 'new\nline'],
    ['4', 'back\\slash\\', 'cr\rlf\n'],
    ['5', '\b\f\v', 'ü☃😀'],
    ['6', '\\\\', '\\t'],
  ];

  it('tells NULL from the empty string and from the text \\N, and undoes every escape', () => {
    expect(parseAll(3, [copyText])).toEqual(expected);
  });

  it('gives the same rows however the bytes are cut, inside a character included', () => {
    for (let max = 1; max <= 9; max++) {
      expect(parseAll(3, cut(copyText, max)), `pieces of up to ${max} bytes`).toEqual(expected);
    }
  });

  it('counts the rows each piece completes', () => {
    const parser = new CopyTextParser(1);
    const none = () => undefined;
    expect(parser.write(Buffer.from('a\nb'), none)).toBe(1);
    expect(parser.write(Buffer.from('c'), none)).toBe(0);
    expect(parser.write(Buffer.from('\nd\ne\n'), none)).toBe(3);
    parser.end();
  });

  it('refuses data that ends inside a row, and a row with fewer fields than selected', () => {
    const ended = new CopyTextParser(2);
    ended.write(Buffer.from('1\ta\n2\t'), () => undefined);
    expect(() => ended.end()).toThrow(/ended inside a row/);
    const short = new CopyTextParser(3);
    expect(() => short.write(Buffer.from('1\ta\n'), () => undefined)).toThrow(/fewer fields/);
  });
});

describe('COPY text read through the parser', () => {
  let dbs: TestDatabases;
  let client: PgClient;

  beforeAll(async () => {
    dbs = await createTestDatabases('copy_text');
    client = await connectSource({ url: dbs.crmUrl, timeoutMs: 10_000, logger: silentLogger() });
    await dbs.pg.query(`
      create table edge (
        id int primary key, t text, b bytea, a text[], n numeric, j jsonb, ts timestamptz
      );
      insert into edge values
        (1, null, null, null, null, null, null),
        (2, '', '', '{}', 0, '""', '2024-02-29 23:59:59.999999+00'),
        (3, E'\\\\N', E'\\\\x00ff5c09', array['', null, 'a,b', E'q"uote', E'back\\\\slash'], -1.50,
            '{"k": "tab\\tnew\\nline"}', '0001-01-01 00:00:00+00'),
        (4, E'tab\\tnew\\nline\\rcr\\bbs\\fff' || chr(11) || E'vt\\\\', E'\\\\x0a0d5c4e', array[E'tab\\tnl\\n'],
            'NaN', '[1, "ü", null]', 'infinity'),
        (5, 'ü☃😀 '|| repeat('é', 3000), decode(repeat('ff00', 5000), 'hex'),
            array['😀', 'NULL'], 12345678901234567890.123456789, 'null', '1999-12-31 23:00:00-05');
    `);
  }, 120_000);

  afterAll(async () => {
    await client?.end();
    await dbs?.drop();
  });

  it('yields exactly the text forms a row-by-row read returns, however the stream is cut', async () => {
    const select = 'select id, t, b, a, n, j, ts from edge order by id';
    const { rows } = await client.query({ text: select, rowMode: 'array' });
    const data: Buffer[] = [];
    for await (const chunk of readCopyData(client, `copy (${select}) to stdout`)) data.push(chunk);
    const bytes = Buffer.concat(data);
    expect(parseAll(7, data)).toEqual(rows);
    for (const max of [1, 2, 3, 5, 64]) {
      expect(parseAll(7, cut(bytes, max)), `pieces of up to ${max} bytes`).toEqual(rows);
    }
  });
});
