import type { TestDatabases } from './databases.js';
import { writeMappings } from './replication.js';
import { createSchemas } from './schemas.js';

/** The mapping of the sync marker `catchUp` bumps. */
const markerMapping = `- name: marker
  source: public.sync_marker
  target: stg_sync_marker
  key: { id: id }
  columns: { n: n }
`;

/** A test's one replicated table, beside the sync marker `catchUp` waits for. */
export interface MarkedTable {
  /** The CRM table: `name (columns)`. */
  readonly crm: string;
  /** The MES table: `name (columns)`. */
  readonly mes: string;
  /** Its mapping, as one YAML flow mapping. */
  readonly mapping: string;
}

/**
 * Creates `table` and the sync marker on both sides (and the control tables on the MES), and
 * writes the mappings of both; returns the mappings directory.
 */
export async function createMarkedTable(dbs: TestDatabases, table: MarkedTable): Promise<string> {
  await createSchemas(
    dbs,
    `create table ${table.crm}; create table sync_marker (id int primary key, n int not null);`,
    [
      `create table ${table.mes}`,
      'create table stg_sync_marker (id int primary key, n int not null)',
    ],
  );
  return writeMappings({ 'mappings.yaml': `- ${table.mapping}\n${markerMapping}` });
}
