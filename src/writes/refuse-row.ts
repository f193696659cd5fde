import { describeError, RuntimeFailure } from '../errors/millrace-error.js';
import type { DeadLetter, Origin } from './write-chunk.js';

/** `--on-error`: a row a database refuses becomes a dead letter, or stops the stream. */
export type OnBadRow = 'deadletter' | 'stop';

/**
 * A row a database refused, under `--on-error`: the dead letter to record, or (stop) the
 * BAD_ROW failure that ends the stream without acknowledging it. Both sinks decide it here.
 */
export function refuseRow(
  onBadRow: OnBadRow,
  refusedBy: string,
  origin: Origin,
  key: Readonly<Record<string, unknown>>,
  error: unknown,
): DeadLetter {
  const message = describeError(error);
  if (onBadRow === 'stop') {
    throw new RuntimeFailure(
      'BAD_ROW',
      `mapping ${origin.mapping}: ${refusedBy} refused a row (${message}); stopped without acknowledging it (--on-error stop)`,
      { cause: error, context: { mapping: origin.mapping, key } },
    );
  }
  return { origin, key, error: message };
}
