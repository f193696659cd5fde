import {
  insertRepairStatement,
  type RepairResult,
  readRepairResult,
} from '../backfill/repair-requests.js';
import { RuntimeFailure } from '../errors/millrace-error.js';
import type { MysqlConnection } from '../mysql/mysql-client.js';
import { sleep } from '../util/sleep.js';
import type { TargetValue } from '../values/column-types.js';

/** Hands a mapping's differing target keys to whoever applies them; resolves once they are. */
export type RepairChannel = (
  mapping: string,
  keys: readonly (readonly TargetValue[])[],
) => Promise<Pick<RepairResult, 'deadLetters'>>;

/**
 * Repair beside a running replicator: the keys are recorded in millrace_repairs and the
 * replicator applies them in-stream (see OnlineBackfills), so a repair lands at a stream position
 * where the source row it writes is still current and never overwrites a newer streamed change.
 * Waits for each request; gives up after `timeoutMs` without progress (exit 3).
 */
export function streamRepairChannel(options: {
  readonly connection: MysqlConnection;
  readonly slot: string;
  readonly timeoutMs: number;
  /** The command to run again after a timeout; `audit --repair` unless given. */
  readonly command?: string;
}): RepairChannel {
  const { connection } = options;
  return async (mapping, keys) => {
    const request = insertRepairStatement(mapping, keys);
    const [inserted] = await connection.query(request.sql, [...request.values]);
    const id = String((inserted as { insertId: number | string }).insertId);
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const result = await readRepairResult(connection, id);
      if (result?.status === 'done') return result;
      if (result?.status === 'failed') {
        throw new RuntimeFailure(
          'AUDIT_FAILED',
          `the replicator could not repair mapping ${mapping}: ${result.error ?? 'unknown error'}`,
          { context: { mapping } },
        );
      }
      if (Date.now() > deadline) {
        throw new RuntimeFailure(
          'AUDIT_FAILED',
          `the replicator on slot '${options.slot}' did not perform the repair of mapping ${mapping} within ${Math.round(options.timeoutMs / 1000)} s; if the mapping was added after run started, restart run, then ${options.command ?? 'audit --repair'} again`,
          { context: { mapping } },
        );
      }
      await sleep(100);
    }
  };
}
