import { formatLsn } from '../util/lsn.js';
import type { CrmColumn, TargetColumn, TargetValue } from '../values/column-types.js';

/** How one bookkeeping column (soft-delete flag or time, metadata) is written, or why it cannot be. */
export type MetaColumn<T> =
  | { readonly ok: true; readonly write: (value: T) => TargetValue }
  | { readonly ok: false; readonly reason: string };

const integerTypes = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
const textTypes = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);

/**
 * The LSN as a number for BIGINT / DECIMAL(≥20,0) columns (ordered, comparable to the checkpoint)
 * or in PostgreSQL's `16/B374D848` spelling for text columns (what people paste into psql).
 */
export function lsnColumn(column: TargetColumn): MetaColumn<bigint> {
  if (
    column.dataType === 'bigint' ||
    (column.dataType === 'decimal' && column.scale === 0 && (column.precision ?? 0) >= 20)
  ) {
    return { ok: true, write: (lsn) => lsn.toString() };
  }
  if (textTypes.has(column.dataType) && (column.maxLength === null || column.maxLength >= 17)) {
    return { ok: true, write: formatLsn };
  }
  return {
    ok: false,
    reason: `${column.name} is ${column.columnType}: an LSN needs BIGINT UNSIGNED or VARCHAR(17) or longer`,
  };
}

/**
 * A UTC DATETIME text with as many fractional digits as the column keeps, cut rather than
 * rounded: MySQL would round 12:00:00.9999995 up into the next second.
 */
export function timeColumn(column: TargetColumn): MetaColumn<Date> {
  if (column.dataType !== 'datetime' && column.dataType !== 'timestamp') {
    return {
      ok: false,
      reason: `${column.name} is ${column.columnType}: a time needs DATETIME(6) or TIMESTAMP(6)`,
    };
  }
  const digits = Math.min(6, Math.max(0, column.datetimePrecision ?? 0));
  return {
    ok: true,
    write: (date) => {
      const iso = date.toISOString();
      const seconds = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
      return digits === 0 ? seconds : `${seconds}.${`${iso.slice(20, 23)}000`.slice(0, digits)}`;
    },
  };
}

/** The soft-delete flag: 1 deleted, 0 live, in any integer or BIT column (BOOLEAN is TINYINT(1)). */
export function flagColumn(column: TargetColumn): MetaColumn<boolean> {
  if (integerTypes.has(column.dataType) || column.dataType === 'bit') {
    return { ok: true, write: (deleted) => (deleted ? 1 : 0) };
  }
  return {
    ok: false,
    reason: `${column.name} is ${column.columnType}: a soft-delete flag needs TINYINT(1) or another integer type`,
  };
}

const crmIntegerTypes = new Set(['int2', 'int4', 'int8']);
const crmTextTypes = new Set(['text', 'varchar', 'bpchar']);

/**
 * To-crm: the encoded binlog position (file index << 32 | offset, the return path's LSN) as a
 * number, for bigint or numeric columns (ordered, comparable to the checkpoint), or its decimal
 * text for text columns.
 */
export function crmLsnColumn(column: CrmColumn): MetaColumn<bigint> {
  const { name, typmod } = column.type;
  const numericFits =
    name === 'numeric' &&
    (typmod < 4 || (((typmod - 4) & 0xffff) === 0 && (typmod - 4) >> 16 >= 20));
  const textFits = crmTextTypes.has(name) && (typmod < 4 || typmod - 4 >= 20);
  if (name === 'int8' || numericFits || textFits)
    return { ok: true, write: (lsn) => lsn.toString() };
  return {
    ok: false,
    reason: `${column.name} is ${column.type.name}: a binlog position needs bigint, numeric(20,0) or text`,
  };
}

/** To-crm: a UTC timestamp with microseconds' room (`+00` for timestamptz). */
export function crmTimeColumn(column: CrmColumn): MetaColumn<Date> {
  const { name } = column.type;
  if (name !== 'timestamp' && name !== 'timestamptz') {
    return {
      ok: false,
      reason: `${column.name} is ${name}: a time needs timestamptz or timestamp`,
    };
  }
  const zone = name === 'timestamptz' ? '+00' : '';
  return {
    ok: true,
    write: (date) => {
      const iso = date.toISOString();
      return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${zone}`;
    },
  };
}

/** To-crm: the soft-delete flag, true deleted, in a boolean (or 1/0 in an integer) column. */
export function crmFlagColumn(column: CrmColumn): MetaColumn<boolean> {
  const { name } = column.type;
  if (name === 'bool') return { ok: true, write: (deleted) => (deleted ? 'true' : 'false') };
  if (crmIntegerTypes.has(name)) return { ok: true, write: (deleted) => (deleted ? '1' : '0') };
  return {
    ok: false,
    reason: `${column.name} is ${name}: a soft-delete flag needs boolean or an integer type`,
  };
}
