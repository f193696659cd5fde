import type { PgStatement } from './statement.js';

/**
 * The one place that knows how the return path's checkpoint is stored on the CRM: the sink writes
 * it with each batch, and whoever resumes the stream reads it.
 */

/** Where a binlog position is, spelt for operators. */
export interface BinlogPlace {
  /** The binlog file, e.g. `mariadb-bin.000042`. */
  readonly file: string;
  /** The byte offset in that file. */
  readonly position: bigint;
}

/**
 * Records the encoded position (and its file and offset) where the stream resumes, with the GTID
 * of the last transaction applied: a position moved by a keepalive has none and keeps the row's.
 */
export function writeCheckpoint(
  stream: string,
  lsn: bigint,
  place: BinlogPlace,
  gtid: string | undefined,
): PgStatement {
  return {
    text:
      'INSERT INTO millrace.checkpoints (stream, lsn, binlog_file, binlog_position, gtid, updated_at) ' +
      'VALUES ($1, $2, $3, $4, $5, clock_timestamp()) ON CONFLICT (stream) DO UPDATE SET ' +
      'lsn = EXCLUDED.lsn, binlog_file = EXCLUDED.binlog_file, binlog_position = EXCLUDED.binlog_position, ' +
      'gtid = COALESCE(EXCLUDED.gtid, millrace.checkpoints.gtid), updated_at = EXCLUDED.updated_at',
    values: [stream, lsn.toString(), place.file, place.position.toString(), gtid ?? null],
  };
}

/** A row of `readCheckpoint`. */
export interface CrmCheckpointRow {
  /** Decimal text: a bigint does not fit a JS number. */
  readonly lsn: string;
  readonly binlog_file: string | null;
  readonly binlog_position: string | null;
  readonly gtid: string | null;
  /** ISO 8601 in UTC. */
  readonly updated_at: string;
  /** Seconds since `updated_at`, by the CRM's own clock. */
  readonly age_seconds: string;
}

/** The stream's checkpoint row; none when nothing was applied yet. */
export function readCheckpoint(stream: string): PgStatement {
  return {
    text:
      'SELECT lsn::text AS lsn, binlog_file, binlog_position::text AS binlog_position, gtid, ' +
      `to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at, ` +
      'extract(epoch FROM clock_timestamp() - updated_at)::text AS age_seconds ' +
      'FROM millrace.checkpoints WHERE stream = $1',
    values: [stream],
  };
}

/** Forgets the stream's checkpoint (teardown): a later stream starts at the binlog's end. */
export function deleteCheckpoint(stream: string): PgStatement {
  return { text: 'DELETE FROM millrace.checkpoints WHERE stream = $1', values: [stream] };
}

/**
 * The stream's checkpoint position, its row locked until the transaction ends: the stream's next
 * commit, which updates that row, waits for this transaction (none when no row exists yet).
 */
export function lockCheckpoint(stream: string): PgStatement {
  return {
    text: 'SELECT lsn::text AS lsn FROM millrace.checkpoints WHERE stream = $1 FOR UPDATE',
    values: [stream],
  };
}

/**
 * Records where a stream that never committed starts, unless it has a checkpoint already: from
 * then on the stream misses nothing written to the binlog after it, whenever `run` starts.
 */
export function insertStartCheckpoint(
  stream: string,
  lsn: bigint,
  place: BinlogPlace,
): PgStatement {
  return {
    text:
      'INSERT INTO millrace.checkpoints (stream, lsn, binlog_file, binlog_position, updated_at) ' +
      'VALUES ($1, $2, $3, $4, clock_timestamp()) ON CONFLICT (stream) DO NOTHING RETURNING stream',
    values: [stream, lsn.toString(), place.file, place.position.toString()],
  };
}
