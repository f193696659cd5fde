import type { TargetRow } from '../../mapping/compiled-mapping.js';
import type { TargetColumn, TargetValue } from '../../values/column-types.js';

/**
 * How a column's values travel in the LOAD DATA file: as text in the file's character set
 * (utf8mb4); as hex that the statement turns back into bytes with UNHEX, so bytes that are not
 * UTF-8 (BINARY, VARBINARY, BLOB) reach the column as they are, like the writer's X'…' literals;
 * or, for BIT, as the unsigned number its bits spell, which the statement casts (LOAD DATA would
 * store a BIT field's text as bytes, where a statement's number sets the bits).
 */
export type FieldForm = 'text' | 'hex' | 'bit';

const byteTypes = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

export function fieldFormOf(column: TargetColumn | undefined): FieldForm {
  if (column?.dataType === 'bit') return 'bit';
  return column !== undefined && byteTypes.has(column.dataType) ? 'hex' : 'text';
}

/** The bytes a statement would store for a value: a Buffer's own, a string's UTF-8. */
function bytesOf(value: string | Buffer): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
}

const special = /[\\\t\n]/;

/** The three characters the file's syntax gives a meaning, escaped (FIELDS ESCAPED BY '\\'). */
function escapeText(text: string): string {
  if (!special.test(text)) return text;
  return text.replace(/[\\\t\n]/g, (char) =>
    char === '\\' ? '\\\\' : char === '\t' ? '\\t' : '\\n',
  );
}

/**
 * One value as a field. Numbers are spelled as mysql2 spells them in a statement, so the server
 * converts the same text; bytes and strings bound for BIT are the number their bytes spell, as
 * the server reads a binary literal there.
 */
function field(value: TargetValue, form: FieldForm): string {
  if (value === null) return '\\N';
  if (form === 'hex') {
    return typeof value === 'string' || Buffer.isBuffer(value)
      ? bytesOf(value).toString('hex')
      : Buffer.from(String(value), 'utf8').toString('hex');
  }
  if (form === 'bit') {
    if (typeof value === 'number' || typeof value === 'bigint') return String(value);
    const hex = bytesOf(value).toString('hex');
    return hex === '' ? '0' : BigInt(`0x${hex}`).toString();
  }
  if (typeof value === 'string') return escapeText(value);
  // Conversions make bytes only for byte columns, which travel as hex.
  if (Buffer.isBuffer(value)) throw new Error('a byte value for a text column of LOAD DATA');
  return String(value);
}

/**
 * Builds the LOAD DATA file of mapped rows: one line per row, fields in `columns` order,
 * separated by tabs, NULL as \N.
 */
export class LoadDataText {
  private readonly columns: readonly string[];
  private readonly forms: readonly FieldForm[];
  /** Lines since the last take, concatenated as they come (no array per row to collect). */
  private text = '';

  constructor(columns: readonly string[], forms: readonly FieldForm[]) {
    this.columns = columns;
    this.forms = forms;
  }

  add(row: TargetRow): void {
    const { columns, forms } = this;
    let line = field(row[columns[0]!] ?? null, forms[0]!);
    for (let index = 1; index < columns.length; index++) {
      line += `\t${field(row[columns[index]!] ?? null, forms[index]!)}`;
    }
    this.text += `${line}\n`;
  }

  /** The lines added since the last take, as UTF-8; null when there are none. */
  take(): Buffer | null {
    if (this.text === '') return null;
    const bytes = Buffer.from(this.text, 'utf8');
    this.text = '';
    return bytes;
  }
}
