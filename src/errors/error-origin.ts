/**
 * Where a driver error came from, recorded where the connection is made rather than guessed
 * later from the error's shape: which database (`crm`: the PostgreSQL source, `mes`: the MySQL
 * target) and whether its connection was already gone. Kept beside the error, not on it, so the
 * driver's objects stay as the driver made them (and as logs print them).
 */
export type Side = 'crm' | 'mes';

interface ErrorOrigin {
  readonly side: Side;
  readonly lost: boolean;
}

const origins = new WeakMap<object, ErrorOrigin>();

/**
 * Records that `error` came from `side`, on a connection already `lost` or not. An error passes
 * through one connection, so its first side stays; once lost, it stays lost.
 */
export function markError<T>(error: T, side: Side, lost: boolean): T {
  if (typeof error !== 'object' || error === null) return error;
  const known = origins.get(error);
  origins.set(error, { side: known?.side ?? side, lost: lost || (known?.lost ?? false) });
  return error;
}

/** The error's connection was gone when it was raised: only a new connection helps. */
export function isFromLostConnection(error: unknown): boolean {
  return typeof error === 'object' && error !== null && origins.get(error)?.lost === true;
}

/** The database an error came from, looking through wrapping errors' `cause`; undefined if none says. */
export function errorSide(error: unknown): Side | undefined {
  for (let at = error, depth = 0; typeof at === 'object' && at !== null && depth < 8; depth++) {
    const side = origins.get(at)?.side;
    if (side !== undefined) return side;
    at = (at as { cause?: unknown }).cause;
  }
  return undefined;
}
