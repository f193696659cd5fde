import type { Logger } from '../../log/logger.js';
import { binlogEnd, listBinlogFiles } from '../../mysql/binlog/binlog-files.js';
import type { MysqlConnection } from '../../mysql/mysql-client.js';
import type { PgClient } from '../../postgres/pg-client.js';
import { loadCrmCheckpoint } from '../../postgres/sink/crm-checkpoint-store.js';
import { streamLockHeld } from '../../postgres/sink/stream-lock.js';
import type { ReplicationProbe } from '../settle.js';

const wakeInsert =
  "INSERT INTO millrace_audit_runs (started_at, finished_at, consistent, report) VALUES (UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), 1, '{}')";

/**
 * Where the return stream stands, in the forward probe's terms (settle.ts), so the same wait
 * serves both directions. Positions are encoded binlog positions (binlog-position.ts):
 * - read position: the end of the MES binlog, taken after a read of the MES, so every
 *   transaction that read saw ends at or below it;
 * - applied position: the stream's checkpoint in millrace.checkpoints, written in the same CRM
 *   transaction as the rows, so everything up to it is on the CRM;
 * - active: a `run` holds the stream's lock on the CRM.
 * The stream checkpoints past transactions of unmapped tables only about once a second, and
 * never sees millrace's own MES writes (skip_replication), so a binlog that ends in those leaves
 * the checkpoint short of the read position. `wake` therefore commits a transaction of its own
 * (a row added to and taken from millrace_audit_runs, on this unmarked session), again each
 * second while waiting: the stream checkpoints its end.
 */
export function createStreamProbe(options: {
  readonly mes: MysqlConnection;
  readonly crm: PgClient;
  readonly stream: string;
  readonly logger: Logger;
}): ReplicationProbe {
  const { mes, crm, stream, logger } = options;
  let wakeFailed = false;
  return {
    async readPosition() {
      return binlogEnd(await listBinlogFiles(mes));
    },
    replicatorActive() {
      return streamLockHeld(crm, stream);
    },
    async appliedPosition() {
      return (await loadCrmCheckpoint(crm, stream)).lsn;
    },
    async wake() {
      if (wakeFailed) return;
      try {
        await mes.query('START TRANSACTION');
        await mes.query(wakeInsert);
        await mes.query('DELETE FROM millrace_audit_runs WHERE id = LAST_INSERT_ID()');
        await mes.query('COMMIT');
      } catch (error) {
        // Without control tables (migrate not run) the stream's own pace must do.
        wakeFailed = true;
        await mes.query('ROLLBACK').catch(() => undefined);
        logger.debug({ err: error }, 'could not write a transaction to wake the return stream');
      }
    },
    wakeEveryMs: 1_000,
  };
}
