import type { MappingSpec } from '../mapping/mapping-spec.js';
import { readBinlogStatus } from '../mysql/binlog/binlog-status.js';
import type { MysqlConnection } from '../mysql/mysql-client.js';
import { type PgClient, quotePgTable } from '../postgres/pg-client.js';
import { loadCrmCheckpoint } from '../postgres/sink/crm-checkpoint-store.js';

/** The return stream (MES binlog → CRM) in `status --json`: null without to-crm mappings. */
export interface ReturnStatus {
  readonly stream: string;
  /** The MES binlog now: newest file and its end, last GTIDs, oldest file still held. */
  readonly binlog: {
    readonly file: string;
    readonly position: number;
    readonly gtid: string;
    readonly oldestFile: string;
  };
  /** Null before the first commit, or when the CRM has no control tables yet. */
  readonly checkpoint: {
    readonly file: string;
    readonly position: number;
    readonly gtid: string | null;
    readonly updatedAt: string | null;
    readonly ageSeconds: number | null;
    /** Binlog bytes written since the checkpoint. */
    readonly bytesBehind: number;
    /** Binlog bytes the MES holds before the checkpoint: what may still be purged safely. */
    readonly bytesAfterOldest: number;
    /** The checkpoint's binlog file is gone: the to-crm mappings need a new backfill. */
    readonly purged: boolean;
  } | null;
  readonly controlTables: boolean;
  readonly mappings: readonly {
    readonly name: string;
    readonly source: string;
    readonly target: string;
    readonly targetRows: number | null;
  }[];
}

/** Reads where the return stream stands: its checkpoint on the CRM against the MES binlog. */
export async function readReturnStatus(
  crm: PgClient,
  mes: MysqlConnection,
  stream: string,
  specs: readonly MappingSpec[],
): Promise<ReturnStatus> {
  const checkpoint = await loadCrmCheckpoint(crm, stream).catch(() => undefined);
  const binlog = await readBinlogStatus(mes, checkpoint?.lsn);
  const standing = binlog.checkpoint;
  const mappings = [];
  for (const spec of specs) {
    mappings.push({
      name: spec.name,
      source: spec.source.table,
      target: spec.target,
      targetRows: await countCrmRows(crm, spec.target),
    });
  }
  return {
    stream,
    binlog: {
      file: binlog.current.file,
      position: binlog.current.position,
      gtid: binlog.gtid,
      oldestFile: binlog.oldestFile,
    },
    controlTables: checkpoint !== undefined,
    checkpoint:
      standing === undefined
        ? null
        : {
            file: standing.file,
            position: standing.position,
            gtid: checkpoint?.gtid ?? null,
            updatedAt: checkpoint?.updatedAt ?? null,
            ageSeconds: checkpoint?.ageSeconds ?? null,
            bytesBehind: standing.bytesBehind,
            bytesAfterOldest: standing.bytesAfterOldest,
            purged: standing.purged,
          },
    mappings,
  };
}

async function countCrmRows(crm: PgClient, target: string): Promise<number | null> {
  // to-crm targets are normalised to `schema.table` when the mappings load.
  const dot = target.indexOf('.');
  const schema = target.slice(0, dot);
  const table = target.slice(dot + 1);
  try {
    const { rows } = await crm.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${quotePgTable(schema, table)}`,
    );
    return Number(rows[0]?.n ?? 0);
  } catch {
    return null;
  }
}

/** The return stream as text lines, for `status`. */
export function formatReturnStatus(status: ReturnStatus): string[] {
  const lines = [
    `return path (MES → CRM), stream ${status.stream}: MES binlog at ${status.binlog.file}:${status.binlog.position} (GTID ${status.binlog.gtid || 'none'}), oldest held ${status.binlog.oldestFile}`,
  ];
  const { checkpoint } = status;
  if (!status.controlTables) {
    lines.push(
      '  CRM control tables: missing (run millrace migrate with a migrations/crm/ directory)',
    );
  } else if (checkpoint === null) {
    lines.push('  checkpoint: none yet');
  } else {
    const age =
      checkpoint.ageSeconds === null ? '' : ` (${checkpoint.ageSeconds.toFixed(1)} s ago)`;
    lines.push(
      `  checkpoint ${checkpoint.file}:${checkpoint.position} GTID ${checkpoint.gtid ?? 'none'} at ${checkpoint.updatedAt ?? 'unknown'}${age}`,
    );
    lines.push(
      checkpoint.purged
        ? '  the checkpoint is in a purged binlog file: backfill the to-crm mappings again'
        : `  lag ${checkpoint.bytesBehind} bytes of MES binlog; ${checkpoint.bytesAfterOldest} bytes held before the checkpoint (purging past them loses the stream)`,
    );
  }
  for (const mapping of status.mappings) {
    lines.push(
      `  ${mapping.name}: ${mapping.source} → ${mapping.target}, ${mapping.targetRows === null ? 'target missing' : `${mapping.targetRows} rows`}`,
    );
  }
  return lines;
}
