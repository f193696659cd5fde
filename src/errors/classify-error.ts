import type { ErrorCode } from './error-codes.js';
import { isFromLostConnection } from './error-origin.js';
import { isMillraceError, ValueError } from './millrace-error.js';

/**
 * What a failure means to whoever meets it, from facts the error carries (a PostgreSQL SQLSTATE,
 * a MySQL errno, a Node socket code, millrace's own code) or that were recorded where its
 * connection was made (see error-origin.ts), never from its message:
 * - `transient`: a database is away or busy for now (refusing connections, starting up, a
 *   deadlock): waiting and trying again helps.
 * - `lost-connection`: the connection it came from is gone: only a new one helps.
 * - `row-data`: one row's data does not fit (a value, a key, a constraint): that row goes to the
 *   dead letters, the rest goes on.
 * - `permanent`: a mistake (SQL, schema, permission, configuration) that waiting does not fix.
 */
type ErrorClass = 'transient' | 'lost-connection' | 'row-data' | 'permanent';

/** millrace's own codes that are not permanent; a ValueError is always one row's data. */
const codeClasses: Partial<Record<ErrorCode, ErrorClass>> = {
  SOURCE_UNREACHABLE: 'transient',
  TARGET_UNREACHABLE: 'transient',
  STREAM_ENDED: 'lost-connection',
  // The replicator's fence: a new session takes the lock again.
  LOCK_LOST: 'lost-connection',
  // After a restart, the server may not have noticed yet that our old walsender is gone: wait.
  // (Before the first start, `run` exits 3 on it: another replicator owns the slot.)
  SLOT_IN_USE: 'transient',
};

/** Node socket codes, and the one mysql2 gives a connection the server closed. */
const socketCodes: Readonly<Record<string, ErrorClass>> = {
  ECONNREFUSED: 'transient',
  EHOSTUNREACH: 'transient',
  ENETUNREACH: 'transient',
  EAI_AGAIN: 'transient',
  ECONNRESET: 'lost-connection',
  ECONNABORTED: 'lost-connection',
  EPIPE: 'lost-connection',
  ETIMEDOUT: 'lost-connection',
  PROTOCOL_CONNECTION_LOST: 'lost-connection',
};

/** MySQL/MariaDB errnos of outages. */
const mysqlOutageErrnos: ReadonlyMap<number, ErrorClass> = new Map<number, ErrorClass>([
  [1040, 'transient'], // ER_CON_COUNT_ERROR
  [1205, 'transient'], // ER_LOCK_WAIT_TIMEOUT
  [1213, 'transient'], // ER_LOCK_DEADLOCK
  [2002, 'transient'], // CR_CONNECTION_ERROR
  [2003, 'transient'], // CR_CONN_HOST_ERROR
  [1053, 'lost-connection'], // ER_SERVER_SHUTDOWN
  [1927, 'lost-connection'], // ER_CONNECTION_KILLED (MariaDB)
  [2006, 'lost-connection'], // CR_SERVER_GONE_ERROR
  [2013, 'lost-connection'], // CR_SERVER_LOST
  [4031, 'lost-connection'], // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
]);

/**
 * MySQL/MariaDB errnos of one row's data, not of the connection or the statement's shape: the
 * writer retries the batch row by row to find the culprit.
 */
const mysqlRowDataErrnos: ReadonlySet<number> = new Set([
  1048, // ER_BAD_NULL_ERROR
  1062, // ER_DUP_ENTRY (another unique key)
  1264, // ER_WARN_DATA_OUT_OF_RANGE
  1265, // WARN_DATA_TRUNCATED
  1292, // ER_TRUNCATED_WRONG_VALUE
  1300, // ER_INVALID_CHARACTER_STRING
  1364, // ER_NO_DEFAULT_FOR_FIELD
  1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
  1367, // ER_ILLEGAL_VALUE_FOR_TYPE
  1406, // ER_DATA_TOO_LONG
  1411, // ER_WRONG_VALUE_FOR_TYPE
  1451, // ER_ROW_IS_REFERENCED_2
  1452, // ER_NO_REFERENCED_ROW_2
  1525, // ER_WRONG_VALUE
  1690, // ER_DATA_OUT_OF_RANGE
  3140, // ER_INVALID_JSON_TEXT
  3141, // ER_INVALID_JSON_TEXT_IN_PARAM
  3819, // ER_CHECK_CONSTRAINT_VIOLATED (MySQL)
  4025, // ER_CONSTRAINT_FAILED (MariaDB)
]);

/** What drivers put on their errors: Node's socket `code` or pg's SQLSTATE, mysql2's `errno`, `fatal`. */
interface DriverErrorFields {
  readonly code?: unknown;
  readonly errno?: unknown;
  readonly fatal?: unknown;
}

/** ER_NO_SUCH_TABLE */
const noSuchTableErrno = 1146;

/** Five characters; PostgreSQL's classes start with 0-5, F, H, P or X (never E, as Node's codes do). */
const sqlStatePattern = /^[0-5FHPX][0-9A-Z]{4}$/;

function classifySqlState(state: string): ErrorClass {
  // 08001/08004: the server refused a new connection, so none was lost.
  if (state === '08001' || state === '08004') return 'transient';
  // Class 08 (connection exception), admin_shutdown, crash_shutdown.
  if (state.startsWith('08') || state === '57P01' || state === '57P02') return 'lost-connection';
  // cannot_connect_now (starting up), class 53 (insufficient resources).
  if (state === '57P03' || state.startsWith('53')) return 'transient';
  // object_in_use (a slot still held by a session the server has not reaped yet), serialization
  // failure, deadlock.
  if (state === '55006' || state === '40001' || state === '40P01') return 'transient';
  // Data exception, integrity constraint violation.
  if (state.startsWith('22') || state.startsWith('23')) return 'row-data';
  return 'permanent';
}

function classifyErrno(errno: number): ErrorClass {
  if (mysqlRowDataErrnos.has(errno)) return 'row-data';
  return mysqlOutageErrnos.get(errno) ?? 'permanent';
}

/** The class of any thrown value; anything unknown is permanent (retry only on listed codes). */
export function classifyError(error: unknown): ErrorClass {
  if (isMillraceError(error)) {
    return error instanceof ValueError ? 'row-data' : (codeClasses[error.code] ?? 'permanent');
  }
  const { code, errno, fatal } = (error ?? {}) as DriverErrorFields;
  if (typeof code === 'string' && socketCodes[code] !== undefined) return socketCodes[code];
  // A server's errno; Node's own errors carry negative ones (and a socket code, above).
  if (typeof errno === 'number' && errno > 0) return classifyErrno(errno);
  const state = sqlState(error);
  if (state !== undefined) return classifySqlState(state);
  // An error that says nothing itself (pg's "not queryable"), from a connection known lost; or
  // one mysql2 marks fatal, as it does every error that closed its connection.
  if (isFromLostConnection(error) || fatal === true) return 'lost-connection';
  return 'permanent';
}

/** An outage worth waiting out: the database or the connection to it is away, not wrong. */
export function isOutage(error: unknown): boolean {
  const kind = classifyError(error);
  return kind === 'transient' || kind === 'lost-connection';
}

/** One row's data: the row is refused (a dead letter), the rest goes on. */
export function isRowDataError(error: unknown): boolean {
  return classifyError(error) === 'row-data';
}

/** The SQLSTATE of a PostgreSQL error, for the few places that act on one in particular. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as DriverErrorFields | null)?.code;
  return typeof code === 'string' && sqlStatePattern.test(code) ? code : undefined;
}

/** MySQL/MariaDB says the table does not exist (e.g. millrace's control tables before migrate). */
export function isNoSuchTable(error: unknown): boolean {
  return (error as DriverErrorFields | null)?.errno === noSuchTableErrno;
}
