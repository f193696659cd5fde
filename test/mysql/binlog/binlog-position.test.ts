import { describe, expect, it } from 'vitest';
import {
  binlogFileName,
  decodeBinlogPosition,
  encodeBinlogPosition,
  parseBinlogFileName,
} from '../../../src/mysql/binlog/binlog-position.js';
import { enumLabels } from '../../../src/mysql/binlog/enum-labels.js';
import { statementKind, truncatedTable } from '../../../src/mysql/binlog/statement-kind.js';

describe('binlog positions', () => {
  it('encode file index and offset into one Lsn that orders like the binlog, and back', () => {
    const a = encodeBinlogPosition({ fileIndex: 42, offset: 0xfffffff0 });
    const b = encodeBinlogPosition({ fileIndex: 43, offset: 4 });
    expect(a).toBe((42n << 32n) | 0xfffffff0n);
    expect(a < b).toBe(true);
    expect(decodeBinlogPosition(a)).toEqual({ fileIndex: 42, offset: 0xfffffff0 });
    expect(decodeBinlogPosition(b)).toEqual({ fileIndex: 43, offset: 4 });
  });

  it('follow the server file name rule', () => {
    expect(parseBinlogFileName('mariadb-bin.000042')).toEqual({ base: 'mariadb-bin', index: 42 });
    expect(parseBinlogFileName('/var/log/my.bin.1234567')).toEqual({
      base: '/var/log/my.bin',
      index: 1234567,
    });
    expect(parseBinlogFileName('mariadb-bin')).toBeUndefined();
    expect(binlogFileName('mariadb-bin', 42)).toBe('mariadb-bin.000042');
    expect(binlogFileName('mariadb-bin', 1234567)).toBe('mariadb-bin.1234567');
  });
});

describe('binlog statements', () => {
  it('tell transaction bounds, savepoints, statement-format changes and DDL apart', () => {
    expect(statementKind('BEGIN')).toBe('begin');
    expect(statementKind('COMMIT')).toBe('end');
    expect(statementKind('ROLLBACK')).toBe('end');
    expect(statementKind('SAVEPOINT `a`')).toBe('savepoint');
    expect(statementKind('ROLLBACK TO `a`')).toBe('savepoint');
    expect(statementKind('insert into t values (1)')).toBe('dml');
    expect(statementKind('  UPDATE t SET a = 1')).toBe('dml');
    expect(statementKind('ALTER TABLE t ADD c int')).toBe('other');
  });

  it('find the table a TRUNCATE empties', () => {
    expect(truncatedTable('TRUNCATE TABLE work_order', 'mes')).toEqual({
      schema: 'mes',
      table: 'work_order',
    });
    expect(truncatedTable('truncate `other db`.`odd``name`', 'mes')).toEqual({
      schema: 'other db',
      table: 'odd`name',
    });
    expect(truncatedTable('DROP TABLE work_order', 'mes')).toBeUndefined();
  });

  it('read ENUM and SET labels with commas, quotes and backslashes', () => {
    expect(enumLabels("enum('a','b,c','it''s','x\\\\y')")).toEqual(['a', 'b,c', "it's", 'x\\y']);
    expect(enumLabels("set('x','y')")).toEqual(['x', 'y']);
    expect(enumLabels("enum('')")).toEqual(['']);
  });
});
