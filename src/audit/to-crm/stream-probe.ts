import { binlogEnd, listBinlogFiles } from '../../mysql/binlog/binlog-files.js';
import type { MysqlConnection } from '../../mysql/mysql-client.js';
import type { PgClient } from '../../postgres/pg-client.js';
import { loadCrmCheckpoint } from '../../postgres/sink/crm-checkpoint-store.js';
import { streamLockHeld } from '../../postgres/sink/stream-lock.js';
import type { ReplicationProbe } from '../settle.js';

/**
 * Where the return stream stands, in the forward probe's terms (settle.ts), so the same wait
 * serves both directions. Positions are encoded binlog positions (binlog-position.ts):
 * - read position: the end of the MES binlog, taken after a read of the MES, so every
 *   transaction that read saw ends at or below it;
 * - applied position: the stream's checkpoint in millrace.checkpoints, written in the same CRM
 *   transaction as the rows, so everything up to it is on the CRM;
 * - active: a `run` holds the stream's lock on the CRM.
 * The stream hands on a transaction of unmapped tables about once a second, so its checkpoint
 * follows a busy binlog; nothing is written to wake it, the MES being the plant's.
 */
export function createStreamProbe(options: {
  readonly mes: MysqlConnection;
  readonly crm: PgClient;
  readonly stream: string;
}): ReplicationProbe {
  const { mes, crm, stream } = options;
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
    async wake() {},
  };
}
