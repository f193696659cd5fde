import type mysql from 'mysql2/promise';
import type pg from 'pg';
import type { SourceType, TargetColumn } from '../../src/values/column-types.js';

/**
 * Column types read from the live catalogs, the way the introspection modules will read them:
 * domains resolved to their base type (with the domain's modifier), arrays with their element.
 */
export async function readSourceTypes(
  client: pg.Client,
  table: string,
): Promise<Map<string, SourceType>> {
  const { rows } = await client.query<{
    attname: string;
    name: string;
    oid: string;
    category: string;
    element_name: string | null;
    typmod: string;
  }>(
    `select a.attname,
            coalesce(bt.typname, t.typname) as name,
            coalesce(bt.oid, t.oid) as oid,
            coalesce(bt.typcategory, t.typcategory) as category,
            et.typname as element_name,
            case when t.typtype = 'd' then t.typtypmod else a.atttypmod end as typmod
       from pg_attribute a
       join pg_type t on t.oid = a.atttypid
       left join pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
       left join pg_type et on et.oid = coalesce(bt.typelem, t.typelem)
                           and coalesce(bt.typcategory, t.typcategory) = 'A'
      where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped`,
    [table],
  );
  return new Map(
    rows.map((row) => [
      row.attname,
      {
        name: row.name,
        oid: Number(row.oid),
        category: row.category,
        typmod: Number(row.typmod),
        ...(row.element_name === null ? {} : { elementName: row.element_name }),
      },
    ]),
  );
}

export async function readTargetColumns(
  conn: mysql.Connection,
  table: string,
): Promise<Map<string, TargetColumn>> {
  const [rows] = await conn.query(
    `select c.column_name as name, c.data_type as dataType, c.column_type as columnType,
            c.character_maximum_length as maxLength, c.numeric_precision as \`precision\`,
            c.numeric_scale as scale, c.datetime_precision as datetimePrecision,
            c.is_nullable as nullable,
            (select count(*) from information_schema.check_constraints k
              where k.constraint_schema = c.table_schema and k.table_name = c.table_name
                and k.check_clause = concat('json_valid(\`', c.column_name, '\`)')) as jsonChecks
       from information_schema.columns c
      where c.table_schema = database() and c.table_name = ?`,
    [table],
  );
  const columns = new Map<string, TargetColumn>();
  for (const row of rows as Record<string, unknown>[]) {
    const columnType = String(row.columnType);
    const dataType = String(row.dataType).toLowerCase();
    const number = (value: unknown) => (value === null ? null : Number(value));
    columns.set(String(row.name), {
      name: String(row.name),
      dataType,
      columnType: columnType.toLowerCase(),
      maxLength: number(row.maxLength),
      precision: number(row.precision),
      scale: number(row.scale),
      datetimePrecision: number(row.datetimePrecision),
      unsigned: / unsigned/i.test(columnType),
      nullable: row.nullable === 'YES',
      isJson: dataType === 'json' || Number(row.jsonChecks) > 0,
      ...(dataType === 'enum'
        ? {
            enumValues: [...columnType.matchAll(/'((?:[^']|'')*)'/g)].map((m) =>
              m[1]!.replace(/''/g, "'"),
            ),
          }
        : {}),
    });
  }
  return columns;
}
