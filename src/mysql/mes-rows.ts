import type { SourceRow } from '../mapping/compiled-mapping.js';
import { introspectTarget } from './introspect.js';
import { type MysqlConnection, quoteMysqlIdent } from './mysql-client.js';

/**
 * Reads of MES rows in the text form the return path's stream carries (what a `SELECT` of the
 * column prints over the text protocol, binary as `\x` + hex, BIT as its number), so a backfill
 * converts exactly the text the binlog source would hand on for the same row.
 */

/** A MES table as a to-crm mapping reads it. */
export interface MesTableRead {
  readonly table: string;
  /** Every column the mapping reads. */
  readonly columns: readonly string[];
  /** The key's columns, in key order (the keyset's order). */
  readonly keyColumns: readonly string[];
}

/** Keys in key column order, each part in its text form. */
export type MesKey = readonly string[];

/** A keyset range over the key: after `after` (exclusive), up to `upTo` (inclusive). */
export interface MesKeyRange {
  readonly after?: MesKey;
  readonly upTo?: MesKey;
  /** At most this many rows, the first in key order. */
  readonly limit?: number;
}

const binaryTypes = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

/** How one table's columns are selected: BIT as its number, binary strings spotted by name. */
interface ReadPlan {
  readonly select: string;
  readonly binary: ReadonlySet<string>;
}

/**
 * Plans by table read: each costs information_schema queries, and a backfill or an audit reads
 * one table many times through the same `MesTableRead`.
 */
const plans = new WeakMap<MesTableRead, Promise<ReadPlan>>();

function readPlan(connection: MysqlConnection, read: MesTableRead): Promise<ReadPlan> {
  const known = plans.get(read);
  if (known) return known;
  const plan = describeColumns(connection, read);
  // A failed read (the MES away) is not kept: the next call plans again.
  plan.catch(() => plans.delete(read));
  plans.set(read, plan);
  return plan;
}

async function describeColumns(connection: MysqlConnection, read: MesTableRead): Promise<ReadPlan> {
  const described = (await introspectTarget(connection, [read.table])).get(read.table);
  const binary = new Set<string>();
  const select = read.columns.map((name) => {
    const type = described?.columns.get(name)?.dataType;
    const quoted = quoteMysqlIdent(name);
    if (type === 'bit') return `${quoted} + 0 AS ${quoted}`;
    if (type !== undefined && binaryTypes.has(type)) binary.add(name);
    return quoted;
  });
  return { select: select.join(', '), binary };
}

/** `(k1, k2) > (?, ?)` spelt out so MariaDB uses the key's index for it. */
function keysetBound(keyColumns: readonly string[], op: '>' | '<='): string {
  const quoted = keyColumns.map(quoteMysqlIdent);
  const strict = op === '>' ? '>' : '<';
  const last = quoted.length - 1;
  const terms = quoted.map((column, index) => {
    const equal = quoted.slice(0, index).map((prior) => `${prior} = ?`);
    const here = index === last ? `${column} ${op} ?` : `${column} ${strict} ?`;
    return `(${[...equal, here].join(' AND ')})`;
  });
  return `(${terms.join(' OR ')})`;
}

/** The values `keysetBound` placeholders take, in order. */
function keysetValues(key: MesKey): string[] {
  return key.flatMap((_part, index) => [...key.slice(0, index), key[index]!]);
}

async function selectRows(
  connection: MysqlConnection,
  sql: string,
  values: unknown[],
  plan: ReadPlan,
): Promise<SourceRow[]> {
  const [rows] = await connection.query(
    {
      sql,
      // The column's bytes as the server printed them: no number or date parsing on the way.
      typeCast: (field: { name: string; buffer(): Buffer | null }) => {
        const raw = field.buffer();
        if (raw === null) return null;
        return plan.binary.has(field.name) ? `\\x${raw.toString('hex')}` : raw.toString('utf8');
      },
    } as unknown as { sql: string; rowsAsArray: true },
    values,
  );
  return rows as SourceRow[];
}

/** The rows of a key range, in key order. */
export async function readMesRange(
  connection: MysqlConnection,
  read: MesTableRead,
  range: MesKeyRange,
): Promise<SourceRow[]> {
  const plan = await readPlan(connection, read);
  const where: string[] = [];
  const values: unknown[] = [];
  if (range.after) {
    where.push(keysetBound(read.keyColumns, '>'));
    values.push(...keysetValues(range.after));
  }
  if (range.upTo) {
    where.push(keysetBound(read.keyColumns, '<='));
    values.push(...keysetValues(range.upTo));
  }
  const order = read.keyColumns.map(quoteMysqlIdent).join(', ');
  const sql =
    `SELECT ${plan.select} FROM ${quoteMysqlIdent(read.table)}` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY ${order}` +
    (range.limit === undefined ? '' : ` LIMIT ${Math.max(1, Math.floor(range.limit))}`);
  return selectRows(connection, sql, values, plan);
}

/** The rows of the listed keys that exist (absent keys have no row). */
export async function readMesKeys(
  connection: MysqlConnection,
  read: MesTableRead,
  keys: readonly MesKey[],
): Promise<SourceRow[]> {
  if (keys.length === 0) return [];
  const plan = await readPlan(connection, read);
  const columns = read.keyColumns.map(quoteMysqlIdent);
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const sql =
    `SELECT ${plan.select} FROM ${quoteMysqlIdent(read.table)} ` +
    `WHERE (${columns.join(', ')}) IN (${keys.map(() => tuple).join(', ')})`;
  return selectRows(connection, sql, keys.flat(), plan);
}
