import type { Lsn } from '../../util/lsn.js';

/**
 * A place in the MES's binary log. The pipeline's `Lsn` is one 64-bit number, so a binlog
 * position travels encoded as `(fileIndex << 32) | offset`: the index is the numeric suffix of
 * the file name (`mariadb-bin.000042` is 42), and an offset never reaches 4 GiB (the server caps
 * a file at `max_binlog_size`, at most 1 GiB). The encoding orders like the binlog itself, which
 * is what the pipeline's skip rule compares.
 */
export interface BinlogPosition {
  readonly fileIndex: number;
  readonly offset: number;
}

const offsetBits = 32n;
const offsetMask = (1n << offsetBits) - 1n;

export function encodeBinlogPosition(position: BinlogPosition): Lsn {
  return (BigInt(position.fileIndex) << offsetBits) | BigInt(position.offset);
}

export function decodeBinlogPosition(lsn: Lsn): BinlogPosition {
  return { fileIndex: Number(lsn >> offsetBits), offset: Number(lsn & offsetMask) };
}

/** `mariadb-bin.000042` → base `mariadb-bin`, index 42; undefined for a name without a numeric suffix. */
export function parseBinlogFileName(
  name: string,
): { readonly base: string; readonly index: number } | undefined {
  const match = /^(.*)\.(\d+)$/.exec(name);
  if (!match?.[1] || !match[2]) return undefined;
  return { base: match[1], index: Number(match[2]) };
}

/** The server's file name rule: the base, a dot, the index zero-padded to at least six digits. */
export function binlogFileName(base: string, index: number): string {
  return `${base}.${String(index).padStart(6, '0')}`;
}

/** `mariadb-bin.000042:1234`, for messages and logs. */
export function formatBinlogPosition(base: string, position: BinlogPosition): string {
  return `${binlogFileName(base, position.fileIndex)}:${position.offset}`;
}
