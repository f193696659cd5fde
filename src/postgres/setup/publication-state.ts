import type { PgClient } from '../pg-client.js';
import { pgBool, rowsOf } from '../sql-client.js';
import type { TableName } from '../table-name.js';

interface PublicationMember extends TableName {
  readonly oid: number;
  /** A PG15 row filter or column list: millrace filters itself and needs every column. */
  readonly restricted: boolean;
}

export interface PublicationState {
  readonly name: string;
  readonly allTables: boolean;
  readonly viaRoot: boolean;
  /** Whether INSERT, UPDATE, DELETE and TRUNCATE are all published. */
  readonly publishesAll: boolean;
  /** Whether the current role owns the publication (needed to alter it). */
  readonly owned: boolean;
  /** Tables listed in the publication itself (pg_publication_rel). */
  readonly members: readonly PublicationMember[];
}

async function serverVersion(client: PgClient): Promise<number> {
  const [row] = await rowsOf<{ version: string }>(
    client,
    "SELECT current_setting('server_version_num') AS version",
  );
  return Number(row?.version ?? 0);
}

/** The publication as it is now, or undefined when it does not exist in this database. */
export async function readPublication(
  client: PgClient,
  name: string,
): Promise<PublicationState | undefined> {
  const [publication] = await rowsOf<{
    oid: number | string;
    puballtables: unknown;
    pubviaroot: unknown;
    publishes_all: unknown;
    owned: unknown;
  }>(
    client,
    `SELECT p.oid::int8 AS oid, p.puballtables, p.pubviaroot,
            (p.pubinsert AND p.pubupdate AND p.pubdelete AND p.pubtruncate) AS publishes_all,
            pg_has_role(p.pubowner, 'USAGE') AS owned
       FROM pg_publication p WHERE p.pubname = $1`,
    [name],
  );
  if (publication === undefined) return undefined;
  return {
    name,
    allTables: pgBool(publication.puballtables),
    viaRoot: pgBool(publication.pubviaroot),
    publishesAll: pgBool(publication.publishes_all),
    owned: pgBool(publication.owned),
    members: await readMembers(client, publication.oid),
  };
}

/** The tables listed in the publication, each with whether a row filter or column list restricts it. */
async function readMembers(
  client: PgClient,
  publication: number | string,
): Promise<readonly PublicationMember[]> {
  // Row filters and column lists appeared in PostgreSQL 15.
  const restricted =
    (await serverVersion(client)) >= 150000
      ? '(r.prqual IS NOT NULL OR r.prattrs IS NOT NULL)'
      : 'false';
  const members = await rowsOf<{
    schema: string;
    table: string;
    oid: number | string;
    restricted: unknown;
  }>(
    client,
    `SELECT n.nspname AS schema, c.relname AS table, c.oid::int8 AS oid, ${restricted} AS restricted
       FROM pg_publication_rel r
       JOIN pg_class c ON c.oid = r.prrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE r.prpubid = $1
      ORDER BY n.nspname, c.relname`,
    [publication],
  );
  return members.map((row) => ({
    schema: row.schema,
    table: row.table,
    oid: Number(row.oid),
    restricted: pgBool(row.restricted),
  }));
}
