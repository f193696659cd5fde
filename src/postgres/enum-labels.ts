import type { PgClient } from './pg-client.js';
/** The labels of the given enum types (by type OID), each in its declared sort order. */
export async function readEnumLabels(
  client: PgClient,
  typeOids: readonly number[],
): Promise<Map<number, string[]>> {
  const labels = new Map<number, string[]>();
  if (typeOids.length === 0) return labels;
  const { rows } = await client.query<{ oid: string; label: string }>(
    `select enumtypid::text as oid, enumlabel as label
       from pg_enum where enumtypid = any($1::oid[])
      order by enumtypid, enumsortorder`,
    [[...typeOids]],
  );
  for (const row of rows) {
    const oid = Number(row.oid);
    labels.set(oid, [...(labels.get(oid) ?? []), row.label]);
  }
  return labels;
}
