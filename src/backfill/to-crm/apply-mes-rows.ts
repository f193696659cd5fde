import { sqlState } from '../../errors/classify-error.js';
import { RuntimeFailure } from '../../errors/millrace-error.js';
import type { Logger } from '../../log/logger.js';
import type { ChangeMeta, CompiledMapping, SourceRow } from '../../mapping/compiled-mapping.js';
import { binlogFileName, decodeBinlogPosition } from '../../mysql/binlog/binlog-position.js';
import {
  type BinlogSnapshot,
  endBinlogSnapshot,
  startBinlogSnapshot,
} from '../../mysql/binlog/binlog-snapshot.js';
import {
  type MesKey,
  type MesKeyRange,
  type MesTableRead,
  readMesKeys,
  readMesRange,
} from '../../mysql/mes-rows.js';
import type { MysqlConnection } from '../../mysql/mysql-client.js';
import { ChangeMapper } from '../../pipeline/change-mapper.js';
import type { ChunkStats } from '../../pipeline/sink.js';
import type { ChangeEvent } from '../../pipeline/source-event.js';
import type { PgClient } from '../../postgres/pg-client.js';
import { CrmSink } from '../../postgres/sink/crm-sink.js';
import { lockCheckpoint } from '../../postgres/sink/sql/checkpoint.js';
import { backfillOriginName } from '../../postgres/sink/sql/replication-origin.js';
import type { PgStatement } from '../../postgres/sink/sql/statement.js';
import { targetKeysInRange } from '../../postgres/sink/sql/target-keys.js';
import { sleep } from '../../util/sleep.js';
import { targetKeyIdentity } from '../../values/key-text.js';
import { TargetBatch } from '../../writes/target-batch.js';
import type { DeadLetter } from '../../writes/write-chunk.js';

/** Which MES rows to apply: a keyset range (the backfill's chunks) or a list of keys. */
export type MesSelection = { readonly range: MesKeyRange } | { readonly keys: readonly MesKey[] };

export interface ApplyMesRowsOptions {
  /** A MES session with no transaction open: the snapshot is taken on it. */
  readonly mes: MysqlConnection;
  /** A CRM session of its own: it carries the backfill's replication origin while writing. */
  readonly crm: PgClient;
  /** A compiled `direction: to-crm` mapping. */
  readonly mapping: CompiledMapping;
  /** The return stream whose checkpoint guards the write. */
  readonly stream: string;
  readonly onBadRow: 'deadletter' | 'stop';
  readonly logger: Logger;
  /**
   * Statements to run in the same CRM transaction after the rows (the backfill's progress, a
   * retried dead letter's removal), given what was read and written.
   */
  readonly alongside?: (read: MesRowsRead, written: ChunkStats) => readonly PgStatement[];
  /** Snapshots to try before giving up while the stream keeps overtaking them. */
  readonly attempts?: number;
  /** Called with each refused row (a dead letter written). */
  readonly onDeadLetter?: (letter: DeadLetter) => void;
}

/** What one snapshot read. */
export interface MesRowsRead {
  readonly snapshot: BinlogSnapshot;
  readonly rows: readonly SourceRow[];
  /** The last key of a range read (where the next keyset chunk starts); undefined when empty. */
  readonly lastKey: MesKey | undefined;
}

export interface AppliedMesRows extends MesRowsRead, ChunkStats {
  /** Snapshots taken: more than one when the stream committed past one first. */
  readonly attempts: number;
}

const defaultAttempts = 30;

/**
 * Longest a chunk's write waits for a row lock the stream's open batch holds. Below PostgreSQL's
 * deadlock_timeout (1 s by default), so in a lock cycle with the stream the chunk is the one that
 * gives up, and the stream's batch is never the deadlock victim.
 */
const lockTimeout = "SET lock_timeout = '500ms'";

/** Lock waits given up, deadlocks, serialization failures: the chunk gives way and is read again. */
const conflictStates = new Set(['55P03', '40P01', '40001']);

/** Why a chunk was not written: the stream committed past its snapshot, or held its rows. */
type GaveWay = 'overtaken' | 'conflict';

/**
 * Reads MES rows in one consistent snapshot and writes what the mapping makes of them into the
 * CRM, through the stream's own mapper, coalescing and sink: rows upserted, rows that left the
 * filter and CRM rows whose keys the MES no longer has removed per `onDelete`, refused rows as
 * dead letters.
 *
 * The guard: a row read at snapshot S must not overwrite a newer value the return stream already
 * wrote. So the CRM transaction ends by locking the stream's checkpoint row; when the checkpoint
 * is past S it rolls back and the read is taken again. At or below S (or no row), it commits, and
 * the stream, which resumes from its checkpoint, applies every change after S over it in order.
 * The lock is taken after the writes, not before: the stream's batch writes its rows before its
 * checkpoint, so the other order could deadlock with it. Rows the stream's open batch holds make
 * the chunk give way too (a short lock timeout), so the stream never waits long on a backfill.
 */
export async function applyMesRows(
  options: ApplyMesRowsOptions,
  selection: MesSelection,
): Promise<AppliedMesRows> {
  const attempts = options.attempts ?? defaultAttempts;
  for (let attempt = 1; ; attempt++) {
    const read = await readSnapshot(options, selection);
    const applied = await writeGuarded(options, selection, read);
    if (typeof applied !== 'string') return { ...read, ...applied, attempts: attempt };
    options.logger.debug(
      { mapping: options.mapping.name, attempt, why: applied },
      'the chunk gave way to the return stream; reading it again',
    );
    if (attempt >= attempts) {
      throw new RuntimeFailure(
        'BACKFILL_OVERTAKEN',
        `mapping ${options.mapping.name}: the return stream got ahead of ${attempts} snapshots of the MES in a row; try again when it is less busy`,
      );
    }
    await sleep(Math.min(1_000, 20 * attempt));
  }
}

/** The MES table read of each mapping, one object per mapping, so its read plan is reused. */
const tableReads = new WeakMap<CompiledMapping, MesTableRead>();

function tableReadOf(mapping: CompiledMapping): MesTableRead {
  const known = tableReads.get(mapping);
  if (known) return known;
  const read = {
    table: mapping.source.table,
    columns: mapping.sourceColumns,
    keyColumns: mapping.sourceKeyColumns,
  };
  tableReads.set(mapping, read);
  return read;
}

async function readSnapshot(
  options: ApplyMesRowsOptions,
  selection: MesSelection,
): Promise<MesRowsRead> {
  const { mapping } = options;
  const table = tableReadOf(mapping);
  const snapshot = await startBinlogSnapshot(options.mes);
  try {
    const rows =
      'range' in selection
        ? await readMesRange(options.mes, table, selection.range)
        : await readMesKeys(options.mes, table, selection.keys);
    const last = 'range' in selection ? rows.at(-1) : undefined;
    const lastKey = last && mapping.sourceKeyColumns.map((column) => String(last[column]));
    return { snapshot, rows, lastKey };
  } finally {
    await endBinlogSnapshot(options.mes);
  }
}

/** One CRM transaction: the rows, the removals, `alongside`, then the guard. */
async function writeGuarded(
  options: ApplyMesRowsOptions,
  selection: MesSelection,
  read: MesRowsRead,
): Promise<ChunkStats | GaveWay> {
  const { base } = read.snapshot;
  const sink = new CrmSink({
    client: options.crm,
    stream: options.stream,
    origin: backfillOriginName(options.stream),
    onBadRow: options.onBadRow,
    logger: options.logger,
    describePosition: (lsn) => {
      const { fileIndex, offset } = decodeBinlogPosition(lsn);
      return { file: binlogFileName(base, fileIndex), position: BigInt(offset) };
    },
    ...(options.onDeadLetter ? { onDeadLetter: options.onDeadLetter } : {}),
  });
  await options.crm.query(lockTimeout);
  try {
    const absent = await absentKeys(options, sink, selection, read);
    const stats = await sink.apply(mapRows(options, read, absent));
    for (const statement of options.alongside?.(read, stats) ?? []) await sink.read(statement);
    const [checkpoint] = await sink.read<{ lsn: string }>(lockCheckpoint(options.stream));
    if (checkpoint !== undefined && BigInt(checkpoint.lsn) > read.snapshot.lsn) {
      await sink.rollback();
      return 'overtaken';
    }
    await sink.commit();
    return stats;
  } catch (error) {
    if (!conflictStates.has(sqlState(error) ?? '')) throw error;
    await sink.rollback();
    return 'conflict';
  } finally {
    await sink.release();
    await options.crm.query('RESET lock_timeout').catch(() => undefined);
  }
}

/**
 * Source key rows of what the CRM holds in the selection but the MES read did not: the listed
 * keys not found, or the CRM keys of the range that no MES row maps to.
 */
async function absentKeys(
  options: ApplyMesRowsOptions,
  sink: CrmSink,
  selection: MesSelection,
  read: MesRowsRead,
): Promise<SourceRow[]> {
  const { mapping } = options;
  const present = new Set(read.rows.map((row) => targetKeyIdentity(mapping.key(row))));
  const asRow = (parts: readonly (string | null)[]): SourceRow =>
    Object.fromEntries(mapping.sourceKeyColumns.map((column, index) => [column, parts[index]!]));
  const candidates =
    'keys' in selection
      ? selection.keys.map(asRow)
      : await crmKeysInRange(options, sink, readSpan(selection.range, read));
  return candidates.filter((row) => !present.has(targetKeyIdentity(mapping.key(row))));
}

async function crmKeysInRange(
  options: ApplyMesRowsOptions,
  sink: CrmSink,
  range: MesKeyRange,
): Promise<SourceRow[]> {
  const { mapping } = options;
  const bound = (key: MesKey | undefined) =>
    key &&
    mapping.key(Object.fromEntries(mapping.sourceKeyColumns.map((column, i) => [column, key[i]!])));
  const after = bound(range.after);
  const upTo = bound(range.upTo);
  const statement = targetKeysInRange(
    mapping.target,
    mapping.keyColumns,
    { ...(after ? { after } : {}), ...(upTo ? { upTo } : {}) },
    mapping.owner,
  );
  const rows = await sink.read<Record<string, string>>(statement);
  return rows.map((row) =>
    Object.fromEntries(
      mapping.sourceKeyColumns.map((column, index) => [column, row[mapping.keyColumns[index]!]!]),
    ),
  );
}

/**
 * The key span a range read covered: a read cut short by its limit ends at its last key (the
 * next chunk starts after it); one that was not reaches the range's end.
 */
function readSpan(range: MesKeyRange, read: MesRowsRead): MesKeyRange {
  const full = range.limit !== undefined && read.rows.length >= range.limit;
  const upTo = full ? read.lastKey : range.upTo;
  return { ...(range.after ? { after: range.after } : {}), ...(upTo ? { upTo } : {}) };
}

/**
 * The writes the stream would make: each MES row as an update carrying its whole row (upsert,
 * or removal when it fails the filter), each absent key as a delete.
 */
function mapRows(options: ApplyMesRowsOptions, read: MesRowsRead, absent: readonly SourceRow[]) {
  const { mapping } = options;
  const mapper = new ChangeMapper({
    mappingsByTable: new Map([[mapping.sourceKey, [mapping]]]),
    onBadRow: options.onBadRow,
  });
  const meta: ChangeMeta = { lsn: read.snapshot.lsn, syncedAt: new Date() };
  const batch = new TargetBatch();
  const table = mapping.sourceKey;
  for (const row of read.rows) {
    const change: ChangeEvent = { kind: 'update', table, row, old: null };
    mapper.mapChange(change, meta, batch);
  }
  for (const old of absent)
    mapper.mapChange({ kind: 'delete', table, row: null, old }, meta, batch);
  return batch.take();
}
