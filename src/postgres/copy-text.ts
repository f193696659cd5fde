/** One COPY row's fields in column order: PostgreSQL's text form of each value, null for NULL. */
export type CopyFields = readonly (string | null)[];

const newline = 0x0a;
const tab = '\t';
const backslash = '\\';

const escapes: Readonly<Record<string, string>> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/**
 * A field that holds a backslash: `\N` alone is NULL, anything else loses its escapes. COPY TO
 * only ever writes a backslash before another backslash and before the letters of these control
 * characters (never octal or hex bytes), and a NULL is never part of a longer field.
 */
function unescapeField(field: string): string | null {
  if (field === '\\N') return null;
  return field.replace(/\\(.)/gs, (_, next: string) => escapes[next] ?? next);
}

/**
 * Parses COPY's text format (`COPY … TO STDOUT`, default delimiter and NULL) as it arrives in
 * network chunks of any size. Each row's fields are handed over in one array that is reused for
 * the next row: whoever keeps values keeps the strings, never the array. No object is made per
 * row, and a field is searched for escapes only when a backslash lies inside it.
 */
export class CopyTextParser {
  private readonly fields: (string | null)[];
  /** Bytes after the last complete line: a row's beginning, possibly cut inside a character. */
  private carry: Buffer | null = null;

  constructor(width: number) {
    if (width < 1) throw new Error('a COPY row has at least one field');
    this.fields = new Array<string | null>(width).fill(null);
  }

  /** Hands every row `chunk` completes to `onRow`; returns how many it completed. */
  write(chunk: Buffer, onRow: (fields: CopyFields) => void): number {
    // A newline byte is never part of a multibyte UTF-8 character: the lines before the last one
    // decode on their own.
    const last = chunk.lastIndexOf(newline);
    if (last === -1) {
      this.carry = this.carry === null ? Buffer.from(chunk) : Buffer.concat([this.carry, chunk]);
      return 0;
    }
    const lines =
      this.carry === null
        ? chunk.toString('utf8', 0, last + 1)
        : Buffer.concat([this.carry, chunk.subarray(0, last + 1)]).toString('utf8');
    this.carry = last + 1 < chunk.length ? Buffer.from(chunk.subarray(last + 1)) : null;
    return this.parseLines(lines, onRow);
  }

  /** Throws when the data ended inside a row (COPY ends every row with a newline). */
  end(): void {
    if (this.carry !== null) throw new Error('COPY output ended inside a row');
  }

  /** The rows of `text`, whole lines each ending in a newline. */
  private parseLines(text: string, onRow: (fields: CopyFields) => void): number {
    const { fields } = this;
    const lastField = fields.length - 1;
    let rows = 0;
    let start = 0;
    // The next backslash at or after `start`, -1 when the text holds no more.
    let nextEscape = text.indexOf(backslash);
    while (start < text.length) {
      const end = text.indexOf('\n', start);
      for (let index = 0; index <= lastField; index++) {
        const stop = index === lastField ? end : text.indexOf(tab, start);
        if (stop === -1 || stop > end) throw new Error('a COPY row has fewer fields than selected');
        fields[index] =
          nextEscape !== -1 && nextEscape < stop
            ? unescapeField(text.slice(start, stop))
            : text.slice(start, stop);
        start = stop + 1;
        if (nextEscape !== -1 && nextEscape < start) nextEscape = text.indexOf(backslash, start);
      }
      onRow(fields);
      rows++;
    }
    return rows;
  }
}
