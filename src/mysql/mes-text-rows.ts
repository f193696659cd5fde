import type { MesColumn } from '../values/column-types.js';
import { type MysqlConnection, quoteMysqlIdent } from './mysql-client.js';

/**
 * Rows of a MES table in MySQL's text form: what a `SELECT` of each column prints over the text
 * protocol, binary strings as `\x` + hex and BIT as its number. That is the form the binlog
 * reader hands the return path (binlog/binlog-values.ts), so a to-crm mapping converts the same
 * text whether the row came from the stream or from a read.
 */

const binaryTypes = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

/** A table's columns, read in that order, and the table's key (a prefix of nothing: any columns). */
export interface MesRead {
  readonly table: string;
  readonly columns: readonly MesColumn[];
  /** The key columns the keyset walks, in key order (each also among `columns`). */
  readonly keyColumns: readonly MesColumn[];
}

function selectList(columns: readonly MesColumn[]): string {
  return columns
    .map((column) => {
      const name = quoteMysqlIdent(column.name);
      return column.dataType === 'bit' ? `${name} + 0 AS ${name}` : name;
    })
    .join(', ');
}

/** Array rows of text forms (or null): the server's own text, never a value the driver parsed. */
async function readText(
  connection: MysqlConnection,
  columns: readonly MesColumn[],
  sql: string,
  values: unknown[],
): Promise<(string | null)[][]> {
  const binary = new Set(
    columns.filter((column) => binaryTypes.has(column.dataType)).map((column) => column.name),
  );
  const [rows] = await connection.query(
    {
      sql,
      rowsAsArray: true,
      typeCast: (field) => {
        const raw = field.buffer();
        if (raw === null) return null;
        return binary.has(field.name) ? `\\x${raw.toString('hex')}` : raw.toString('utf8');
      },
    },
    values,
  );
  return rows as (string | null)[][];
}

/**
 * Key values as parameters: integers as BigInt, so MySQL compares them as integers rather than
 * as doubles (which cannot tell 2^53 from 2^53 + 1).
 */
function bindKey(keyColumns: readonly MesColumn[], key: readonly (string | null)[]): unknown[] {
  return key.map((value, index) =>
    keyColumns[index]!.dataType.endsWith('int') && value !== null && /^-?\d+$/.test(value)
      ? BigInt(value)
      : value,
  );
}

/** The key of a row read with `read.columns`, as text forms. */
export function mesRowKey(read: MesRead, row: readonly (string | null)[]): (string | null)[] {
  return read.keyColumns.map((key) => row[read.columns.indexOf(key)] ?? null);
}

/** The table in key order, `chunkSize` rows at a time, each chunk its own statement. */
export async function* readMesChunks(
  connection: MysqlConnection,
  read: MesRead,
  chunkSize: number,
): AsyncGenerator<(string | null)[][]> {
  const keys = read.keyColumns.map((column) => quoteMysqlIdent(column.name));
  const tuple = keys.length === 1 ? keys[0]! : `(${keys.join(', ')})`;
  const base = `SELECT ${selectList(read.columns)} FROM ${quoteMysqlIdent(read.table)}`;
  const order = `ORDER BY ${keys.join(', ')} LIMIT ${chunkSize}`;
  let after: readonly (string | null)[] | undefined;
  for (;;) {
    const marks = keys.length === 1 ? '?' : `(${keys.map(() => '?').join(', ')})`;
    const rows =
      after === undefined
        ? await readText(connection, read.columns, `${base} ${order}`, [])
        : await readText(
            connection,
            read.columns,
            `${base} WHERE ${tuple} > ${marks} ${order}`,
            bindKey(read.keyColumns, after),
          );
    if (rows.length > 0) yield rows;
    if (rows.length < chunkSize) return;
    after = mesRowKey(read, rows[rows.length - 1]!);
  }
}

/** The rows with the given keys (text forms per key column), in batches of `batchSize` keys. */
export async function readMesByKeys(
  connection: MysqlConnection,
  read: MesRead,
  keys: readonly (readonly (string | null)[])[],
  batchSize = 1_000,
): Promise<(string | null)[][]> {
  const names = read.keyColumns.map((column) => quoteMysqlIdent(column.name));
  const tuple = names.length === 1 ? names[0]! : `(${names.join(', ')})`;
  const found: (string | null)[][] = [];
  for (let start = 0; start < keys.length; start += batchSize) {
    const batch = keys.slice(start, start + batchSize);
    const marks = batch
      .map(() => (names.length === 1 ? '?' : `(${names.map(() => '?').join(', ')})`))
      .join(', ');
    const sql = `SELECT ${selectList(read.columns)} FROM ${quoteMysqlIdent(read.table)} WHERE ${tuple} IN (${marks})`;
    const values = batch.flatMap((key) => bindKey(read.keyColumns, key));
    for (const row of await readText(connection, read.columns, sql, values)) found.push(row);
  }
  return found;
}
