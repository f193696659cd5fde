/**
 * Every `code` a MillraceError can carry. Scripts and tests match these strings, so they are one
 * closed union: a misspelt code is a type error, not a silently new code.
 */
export type ErrorCode =
  // Command line and configuration (exit 2).
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'CONFIRMATION_REQUIRED'
  | 'TABLE_UNKNOWN'
  | 'NO_MAPPINGS'
  | 'MAPPINGS_DIR_MISSING'
  | 'MAPPINGS_CHECK_FAILED'
  | 'MAPPING_INVALID'
  | 'MAPPING_COMPILE'
  | 'MAPPING_SCHEMA_MISMATCH'
  | 'MAPPING_TYPE_MISMATCH'
  | 'MAPPING_NOT_SOFT'
  | 'SOURCE_TABLE_MISSING'
  | 'SOURCE_NOT_TABLE'
  | 'REPLICA_IDENTITY'
  | 'PARTITION_MAPPED'
  | 'FILE_EXISTS'
  // Databases away or refusing (exit 3).
  | 'SOURCE_UNREACHABLE'
  | 'TARGET_UNREACHABLE'
  | 'STREAM_ENDED'
  | 'LOCK_LOST'
  | 'WRITE_ABANDONED'
  | 'ROW_TOO_LARGE'
  | 'PERMISSION_DENIED'
  | 'WAL_LEVEL'
  | 'CONTROL_TABLES_MISSING'
  | 'MIGRATION_FAILED'
  // Replication slot, publication and the replicator's lock (exit 3).
  | 'SLOT_MISSING'
  | 'SLOT_IN_USE'
  | 'SLOT_CONFLICT'
  | 'SLOT_LIMIT'
  | 'SLOT_LOST'
  | 'REPLICATOR_RUNNING'
  | 'REPLICATOR_STOPPED'
  | 'DDL_DRIFT'
  // The MES binlog (the return path's source; exit 3).
  | 'BINLOG_PURGED'
  | 'BINLOG_MISMATCH'
  | 'BINLOG_UNSUPPORTED'
  | 'BINLOG_DECODE'
  | 'BAD_ROW'
  // Backfill and audit (exit 3).
  | 'BACKFILL_RUNNING'
  | 'BACKFILL_STATE'
  | 'BACKFILL_INTERRUPTED'
  | 'BACKFILL_DETACHED'
  | 'BACKFILL_FAILED'
  | 'AUDIT_FAILED'
  | 'OUT_UNWRITABLE'
  // One value that does not fit its column (ValueError: a dead letter, not a failure).
  | 'VALUE_INVALID'
  | 'VALUE_TOO_LONG'
  | 'VALUE_OUT_OF_RANGE'
  | 'VALUE_INVALID_JSON'
  | 'VALUE_KEY_MISSING'
  | 'VALUE_UNMAPPED';
