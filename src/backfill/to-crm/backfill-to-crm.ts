import { sqlState } from '../../errors/classify-error.js';
import { RuntimeFailure } from '../../errors/millrace-error.js';
import type { CompiledMapping } from '../../mapping/compiled-mapping.js';
import { binlogFileName, decodeBinlogPosition } from '../../mysql/binlog/binlog-position.js';
import { connectTarget, type MysqlConnection } from '../../mysql/mysql-client.js';
import { connectSource, type PgClient } from '../../postgres/pg-client.js';
import {
  type CrmBackfillCounters,
  type CrmBackfillState,
  chunkProgress,
  readCrmBackfill,
  startCrmBackfill,
} from '../../postgres/sink/crm-backfill-progress.js';
import { withReleasers } from '../../util/releasers.js';
import type { BackfillSummary } from '../backfill-progress.js';
import { type BackfillRequest, interrupted, secondsSince } from '../run-backfill.js';
import { applyMesRows } from './apply-mes-rows.js';
import { lockCrmBackfills } from './crm-backfill-lock.js';

export interface BackfillToCrmOptions extends BackfillRequest {
  readonly crmUrl: string;
  readonly mesUrl: string;
  /** The return stream whose checkpoint guards every chunk. */
  readonly stream: string;
  readonly connectTimeoutMs: number;
}

/** Both sessions a to-crm backfill works on. */
interface Sessions {
  readonly mes: MysqlConnection;
  readonly crm: PgClient;
}

/**
 * `millrace backfill` for to-crm mappings: the MES table in keyset chunks, each applied to the
 * CRM by `applyMesRows` with its progress row in the same transaction. No lock keeps the return
 * stream away: the checkpoint guard orders each chunk with the stream's commits, so a backfill
 * runs as well beside `run` as without it. A second backfill of the same mapping is refused.
 */
export async function backfillToCrm(
  options: BackfillToCrmOptions,
): Promise<readonly BackfillSummary[]> {
  return withReleasers(async (releasers) => {
    const { connectTimeoutMs: timeoutMs, logger } = options;
    const sessions: Sessions = {
      mes: releasers.hold(await connectTarget({ url: options.mesUrl, timeoutMs, logger }), (held) =>
        held.end(),
      ),
      crm: releasers.hold(
        await connectSource({
          url: options.crmUrl,
          timeoutMs,
          logger,
          applicationName: 'millrace backfill',
        }),
        (held) => held.end(),
      ),
    };
    await lockCrmBackfills(
      sessions.crm,
      options.selected.map((mapping) => mapping.name),
    );
    const summaries: BackfillSummary[] = [];
    for (const mapping of options.selected) {
      if (options.signal.aborted) throw interrupted(mapping.name, undefined);
      summaries.push(await backfillMapping(options, sessions, mapping));
    }
    return summaries;
  });
}

async function backfillMapping(
  options: BackfillToCrmOptions,
  sessions: Sessions,
  mapping: CompiledMapping,
): Promise<BackfillSummary> {
  const state = await startMapping(options, sessions, mapping);
  const started = performance.now();
  let counters: CrmBackfillCounters = state;
  let lastKey = state.lastKey;
  const progress = () => ({
    mapping: mapping.name,
    phase: 'copy' as const,
    counters,
    rowsTotal: state.rowsTotal,
  });
  options.view.update(progress());
  for (;;) {
    if (options.signal.aborted) throw interrupted(mapping.name, counters.rowsRead);
    const before = counters;
    const applied = await applyMesRows(
      {
        ...sessions,
        mapping,
        stream: options.stream,
        onBadRow: 'deadletter',
        logger: options.logger,
        alongside: (read, written) => {
          const done = read.rows.length < options.chunkSize;
          const { fileIndex, offset } = decodeBinlogPosition(read.snapshot.lsn);
          counters = {
            rowsRead: before.rowsRead + read.rows.length,
            rowsCopied: before.rowsCopied + written.upserted,
            rowsRemoved: before.rowsRemoved + written.deleted + written.updated,
            deadLetters: before.deadLetters + written.deadLetters,
          };
          const last = read.lastKey ?? lastKey;
          return [
            chunkProgress({
              mapping: mapping.name,
              ...counters,
              lastKey: last,
              done,
              snapshot: `${binlogFileName(read.snapshot.base, fileIndex)}:${offset}`,
            }),
          ];
        },
      },
      { range: { ...(lastKey ? { after: lastKey } : {}), limit: options.chunkSize } },
    );
    lastKey = applied.lastKey ?? lastKey;
    options.view.update(progress());
    if (applied.rows.length < options.chunkSize) break;
  }
  const seconds = secondsSince(started);
  options.view.finish(progress());
  return {
    mapping: mapping.name,
    mode: 'offline',
    rowsCopied: counters.rowsCopied,
    deadLetters: counters.deadLetters,
    rowsRemoved: counters.rowsRemoved,
    seconds,
    rowsPerSecond: seconds > 0 ? (counters.rowsCopied - state.rowsCopied) / seconds : 0,
  };
}

/** A fresh run (none yet, the last one done, or --restart), or the interrupted one resumed. */
async function startMapping(
  options: BackfillToCrmOptions,
  sessions: Sessions,
  mapping: CompiledMapping,
): Promise<CrmBackfillState> {
  const previous = await readProgress(sessions.crm, mapping.name);
  if (!options.restart && previous?.status === 'running') {
    options.logger.info(
      { mapping: mapping.name, rowsRead: previous.rowsRead },
      'resuming the backfill from its last committed chunk',
    );
    return previous;
  }
  const rowsTotal = await estimateMesRows(sessions.mes, mapping.source.table);
  const statement = startCrmBackfill(mapping.name, rowsTotal, options.chunkSize);
  await sessions.crm.query(statement.text, statement.values);
  return (await readProgress(sessions.crm, mapping.name))!;
}

async function readProgress(crm: PgClient, mapping: string): Promise<CrmBackfillState | undefined> {
  return readCrmBackfill(crm, mapping).catch((error: unknown) => {
    if (sqlState(error) === '42P01') {
      throw new RuntimeFailure(
        'CONTROL_TABLES_MISSING',
        'the CRM has no millrace.backfill_progress table; run `millrace migrate` first',
        { cause: error },
      );
    }
    throw error;
  });
}

/** information_schema's estimate of a MES table's rows (InnoDB's statistics), for ETAs. */
async function estimateMesRows(mes: MysqlConnection, table: string): Promise<number | null> {
  const [rows] = await mes.query(
    'SELECT table_rows AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
    [table],
  );
  const estimate = (rows as { n: string | number | null }[])[0]?.n;
  return estimate === null || estimate === undefined ? null : Number(estimate);
}
