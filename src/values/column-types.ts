/**
 * What the value conversion needs to know about a column on each side. Produced by schema
 * introspection (src/postgres/introspect.ts, src/mysql/introspect.ts), consumed by the pure
 * modules src/values and src/mapping.
 */

/** A PostgreSQL column's type, with domains already resolved to their base type. */
export interface SourceType {
  /** Base type name from pg_type.typname, e.g. `int4`, `numeric`, `timestamptz`, `_text` for text[]. */
  readonly name: string;
  /** Base type OID. */
  readonly oid: number;
  /** pg_type.typcategory of the base type: N numeric, S string, B boolean, D date/time, E enum, A array, U user, … */
  readonly category: string;
  /** For arrays: the element type's name (e.g. `int4` for `_int4`); otherwise undefined. */
  readonly elementName?: string;
  /** Type modifier (atttypmod) of the column, -1 when none: numeric(p,s), varchar(n), timestamp(p). */
  readonly typmod: number;
  /** For enum types, the labels in sort order; read where the type is a write target (to-crm). */
  readonly enumLabels?: readonly string[];
}

/** A MySQL/MariaDB column, from information_schema.COLUMNS. */
export interface TargetColumn {
  readonly name: string;
  /** DATA_TYPE, lower case: `int`, `bigint`, `decimal`, `varchar`, `datetime`, `json`, `blob`, `enum`, … */
  readonly dataType: string;
  /** COLUMN_TYPE, lower case: `decimal(12,2)`, `int(10) unsigned`, `enum('a','b')`, `tinyint(1)`. */
  readonly columnType: string;
  /** CHARACTER_MAXIMUM_LENGTH: characters for text types, bytes for binary types; null otherwise. */
  readonly maxLength: number | null;
  /** NUMERIC_PRECISION / NUMERIC_SCALE for numeric types, null otherwise. */
  readonly precision: number | null;
  readonly scale: number | null;
  /** DATETIME_PRECISION (fractional second digits) for temporal types, null otherwise. */
  readonly datetimePrecision: number | null;
  readonly unsigned: boolean;
  readonly nullable: boolean;
  /** A JSON column: MySQL's JSON type, or MariaDB's LONGTEXT with a JSON_VALID check. */
  readonly isJson: boolean;
  /** For ENUM columns, the allowed values; otherwise undefined. */
  readonly enumValues?: readonly string[];
  /** CHARACTER_SET_NAME, lower case, for character columns (when introspected). */
  readonly characterSet?: string;
}

/**
 * A value as bound to a statement parameter: for MySQL any of these; for PostgreSQL (to-crm
 * mappings) text in the form the column's type parses exactly, or a Buffer for bytea.
 */
export type TargetValue = string | number | bigint | Buffer | null;

/**
 * A MySQL/MariaDB column read by a to-crm mapping: the same information_schema facts as a MES
 * staging column, the other way round.
 */
export type MesColumn = TargetColumn;

/** A CRM (PostgreSQL) column a to-crm mapping writes. */
export interface CrmColumn {
  readonly name: string;
  readonly type: SourceType;
  readonly nullable: boolean;
}
