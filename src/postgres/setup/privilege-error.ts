import { describeError, RuntimeFailure } from '../../errors/millrace-error.js';
import { sqlState } from '../sql-client.js';

/** An insufficient_privilege error raised by DDL, as a one-line PERMISSION_DENIED with its fix. */
export function wrapPrivilegeError(error: unknown, what: string): unknown {
  if (sqlState(error) !== '42501') return error;
  return new RuntimeFailure(
    'PERMISSION_DENIED',
    `${what}: ${describeError(error)} (run setup as a superuser or the tables' owner with REPLICATION)`,
    { cause: error },
  );
}
