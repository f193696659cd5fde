import type { PgClient } from './pg-client.js';
import { type SlotFacts, type SlotRow, slotColumns, toSlotFacts } from './slot-facts.js';
import { pgBool } from './sql-client.js';

/**
 * The CRM half of `status`: where the slot stands and how much WAL it holds back. Read-only, and
 * tolerant of what is missing (no slot, no publication): `status` is what people run when
 * something is wrong, so it reports instead of failing.
 */

export interface SlotStatus extends SlotFacts {
  /** WAL still writable before the slot is invalidated, in bytes; null when unlimited. */
  readonly safeWalSizeBytes: number | null;
  /** WAL the server keeps for this slot (current WAL position − restart_lsn), in bytes. */
  readonly retainedWalBytes: number | null;
  /** WAL written since the slot's confirmed position (current − confirmed_flush_lsn), in bytes. */
  readonly lagBytes: number | null;
}

export interface PublicationStatus {
  readonly name: string;
  readonly allTables: boolean;
  readonly viaRoot: boolean;
  /** Published tables as `schema.table`, as the stream names them (roots, with viaRoot). */
  readonly tables: readonly string[];
}

export interface SourceStatus {
  /** The server's current WAL write position (replay position on a standby). */
  readonly currentLsn: string;
  /** Undefined when there is no slot of that name. */
  readonly slot: SlotStatus | undefined;
  /** Undefined when this database has no publication of that name. */
  readonly publication: PublicationStatus | undefined;
}

/** A numeric byte count from SQL text; null stays null. */
function bytes(value: string | number | null): number | null {
  return value === null ? null : Number(value);
}

/** The server's current WAL position as SQL: on a standby pg_current_wal_lsn() raises. */
const currentLsnSql =
  'CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END';

async function readCurrentLsn(client: PgClient): Promise<string> {
  const result = await client.query(`SELECT (${currentLsnSql})::text AS lsn`);
  const row = result.rows[0] as { lsn: string } | undefined;
  return row?.lsn ?? '0/0';
}

/** The slot's positions and retained WAL, or undefined when there is no such slot. */
export async function readSlotStatus(
  client: PgClient,
  slot: string,
): Promise<SlotStatus | undefined> {
  const result = await client.query(
    `WITH cur AS (SELECT ${currentLsnSql} AS lsn)
     SELECT ${slotColumns}, s.safe_wal_size::text AS safe_wal_size,
            pg_wal_lsn_diff(cur.lsn, s.restart_lsn)::text AS retained_bytes,
            pg_wal_lsn_diff(cur.lsn, s.confirmed_flush_lsn)::text AS lag_bytes
       FROM pg_replication_slots s, cur
      WHERE s.slot_name = $1`,
    [slot],
  );
  const row = result.rows[0] as
    | (SlotRow & {
        safe_wal_size: string | null;
        retained_bytes: string | null;
        lag_bytes: string | null;
      })
    | undefined;
  if (row === undefined) return undefined;
  return {
    ...toSlotFacts(slot, row),
    safeWalSizeBytes: bytes(row.safe_wal_size),
    retainedWalBytes: bytes(row.retained_bytes),
    lagBytes: bytes(row.lag_bytes),
  };
}

/** The publication's published tables, or undefined when it does not exist in this database. */
async function readPublicationStatus(
  client: PgClient,
  publication: string,
): Promise<PublicationStatus | undefined> {
  const found = await client.query(
    'SELECT puballtables, pubviaroot FROM pg_publication WHERE pubname = $1',
    [publication],
  );
  const row = found.rows[0] as { puballtables: unknown; pubviaroot: unknown } | undefined;
  if (row === undefined) return undefined;
  const tables = await client.query(
    `SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables
      WHERE pubname = $1 ORDER BY schemaname, tablename`,
    [publication],
  );
  return {
    name: publication,
    allTables: pgBool(row.puballtables),
    viaRoot: pgBool(row.pubviaroot),
    tables: (tables.rows as { name: string }[]).map((table) => table.name),
  };
}

/** Everything `status` shows about the CRM side. */
export async function readSourceStatus(
  client: PgClient,
  names: { readonly slot: string; readonly publication: string },
): Promise<SourceStatus> {
  return {
    currentLsn: await readCurrentLsn(client),
    slot: await readSlotStatus(client, names.slot),
    publication: await readPublicationStatus(client, names.publication),
  };
}
