/**
 * Values written into the statement text as literals, escaped once here, instead of `?`
 * placeholders the driver would scan for and escape again. The writer's session runs without
 * NO_BACKSLASH_ESCAPES and with a utf8mb4 connection character set (where no multi-byte sequence
 * can hide a quote), so escaping the quote, the backslash and the bytes the server or a log
 * could cut at (NUL, CR, LF, Ctrl-Z) keeps every string a string. Raw line breaks never occur
 * inside a literal, so a statement list joined with line breaks stays readable.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL and Ctrl-Z are what it looks for
const special = /[\0\n\r\x1a'\\]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above
const specials = /[\0\n\r\x1a'\\]/g;
const escapes: Readonly<Record<string, string>> = {
  '\0': '\\0',
  '\n': '\\n',
  '\r': '\\r',
  '\x1a': '\\Z',
  "'": "\\'",
  '\\': '\\\\',
};

function escapeChar(char: string): string {
  return escapes[char]!;
}

/** A value bound by the writer (a TargetValue, or a key as read back) as a SQL literal. */
export function sqlLiteral(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return special.test(value) ? `'${value.replace(specials, escapeChar)}'` : `'${value}'`;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`no SQL literal for the number ${value}`);
      return String(value);
    case 'bigint':
      return value.toString();
    case 'undefined':
      return 'NULL';
    default:
      if (value === null) return 'NULL';
      if (Buffer.isBuffer(value)) return `X'${value.toString('hex')}'`;
      throw new TypeError(`no SQL literal for a value of type ${typeof value}`);
  }
}

/** `(v1,v2,…)`: the values as literals. */
export function tupleLiteral(values: readonly unknown[]): string {
  let text = '(';
  for (let index = 0; index < values.length; index++) {
    if (index > 0) text += ',';
    text += sqlLiteral(values[index]);
  }
  return `${text})`;
}
