import type { Logger } from '../../log/logger.js';
import type { CompiledMapping } from '../../mapping/compiled-mapping.js';
import type { MysqlConnection } from '../../mysql/mysql-client.js';
import type { PgClient } from '../../postgres/pg-client.js';
import { deleteCrmLetters } from '../../postgres/sink/crm-dead-letters.js';
import { targetValueAsText } from '../../values/key-text.js';
import type { StoredLetter } from '../../writes/stored-letters.js';
import type { ReplayCounts } from '../replay-dead-letters.js';
import { applyMesRows } from './apply-mes-rows.js';

export interface RetryCrmLettersOptions {
  readonly mes: MysqlConnection;
  readonly crm: PgClient;
  readonly stream: string;
  readonly logger: Logger;
}

/**
 * Replays one to-crm mapping's letters: each letter's MES row is read again by its key (a to-crm
 * key column copies its MES column, so the recorded CRM key is the MES key) and applied by
 * `applyMesRows`, which deletes the letters in the same CRM transaction; a row refused again is
 * recorded anew in that transaction, with the new error, so no letter is lost. Safe beside a
 * running return stream: the checkpoint guard orders it with the stream's commits.
 */
export async function retryCrmLetters(
  options: RetryCrmLettersOptions,
  mapping: CompiledMapping,
  letters: readonly StoredLetter[],
): Promise<ReplayCounts> {
  const keyed = letters.flatMap((letter) => {
    const parts = mapping.keyColumns.map((column) => targetValueAsText(letter.key[column] ?? null));
    return parts.every((part): part is string => part !== null) ? [{ letter, key: parts }] : [];
  });
  if (keyed.length === 0) return { replayed: 0, failed: 0, skipped: letters.length };
  let failed = 0;
  const ids = keyed.map((entry) => entry.letter.id);
  await applyMesRows(
    {
      ...options,
      mapping,
      onBadRow: 'deadletter',
      alongside: (_read, written) => {
        failed = written.deadLetters;
        return [deleteCrmLetters({ ids })];
      },
    },
    { keys: keyed.map((entry) => entry.key) },
  );
  failed = Math.min(failed, keyed.length);
  return { replayed: keyed.length - failed, failed, skipped: letters.length - keyed.length };
}
