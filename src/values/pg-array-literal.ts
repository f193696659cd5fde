/**
 * Turns a PostgreSQL array literal (`{1,NULL,"a \"b\"",{x,y}}`, `[0:1]={a,b}`) into JSON text.
 * `element` turns each non-null element's text into a JSON fragment. NULL elements become
 * `null`; a quoted "NULL" stays a string. Multi-dimensional arrays become nested JSON arrays,
 * and `{}` becomes `[]`. Returns undefined for text that is not an array literal.
 */
export function pgArrayToJson(
  text: string,
  delimiter: string,
  element: (value: string) => string,
): string | undefined {
  const parser = new ArrayLiteralParser(text, delimiter.charCodeAt(0), element);
  try {
    return parser.parse();
  } catch (error) {
    if (error === malformed) return undefined;
    throw error;
  }
}

const malformed = Symbol('malformed array literal');

const openBrace = 123;
const closeBrace = 125;
const quote = 34;
const backslash = 92;
const openBracket = 91;

function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13);
}

class ArrayLiteralParser {
  private position = 0;

  constructor(
    private readonly text: string,
    private readonly delimiter: number,
    private readonly element: (value: string) => string,
  ) {}

  parse(): string {
    // Explicit bounds (`[2:3]={…}`) only say where indexes start; JSON arrays start at 0.
    if (this.text.charCodeAt(0) === openBracket) {
      const end = this.text.indexOf('=');
      if (end < 0) throw malformed;
      this.position = end + 1;
    }
    this.skipSpaces();
    const json = this.array();
    this.skipSpaces();
    if (this.position !== this.text.length) throw malformed;
    return json;
  }

  private array(): string {
    if (this.text.charCodeAt(this.position) !== openBrace) throw malformed;
    this.position++;
    this.skipSpaces();
    if (this.text.charCodeAt(this.position) === closeBrace) {
      this.position++;
      return '[]';
    }
    const items: string[] = [];
    for (;;) {
      this.skipSpaces();
      const code = this.text.charCodeAt(this.position);
      if (code === openBrace) items.push(this.array());
      else if (code === quote) items.push(this.element(this.quoted()));
      else items.push(this.unquoted());
      this.skipSpaces();
      const next = this.text.charCodeAt(this.position);
      this.position++;
      if (next === closeBrace) return `[${items.join(',')}]`;
      if (next !== this.delimiter) throw malformed;
    }
  }

  private quoted(): string {
    const { text } = this;
    let value = '';
    let start = ++this.position;
    for (;;) {
      const code = text.charCodeAt(this.position);
      if (code === quote) {
        value += text.slice(start, this.position);
        this.position++;
        return value;
      }
      if (code === backslash) {
        value += text.slice(start, this.position);
        if (this.position + 1 >= text.length) throw malformed;
        value += text[this.position + 1];
        this.position += 2;
        start = this.position;
      } else if (Number.isNaN(code)) {
        throw malformed;
      } else {
        this.position++;
      }
    }
  }

  private unquoted(): string {
    const { text } = this;
    const start = this.position;
    // Fast path: PostgreSQL's own output has no spaces or backslashes in unquoted elements.
    let end = start;
    for (;;) {
      const code = text.charCodeAt(end);
      if (code === this.delimiter || code === closeBrace) break;
      if (
        Number.isNaN(code) ||
        code === backslash ||
        code === quote ||
        code === openBrace ||
        isSpace(code)
      ) {
        return this.unquotedSlowly();
      }
      end++;
    }
    if (end === start) throw malformed;
    this.position = end;
    const value = text.slice(start, end);
    if (end - start === 4 && value.toUpperCase() === 'NULL') return 'null';
    return this.element(value);
  }

  /** Unquoted elements with escapes or surrounding spaces, as hand-written literals have. */
  private unquotedSlowly(): string {
    const { text } = this;
    let value = '';
    let escaped = false;
    // Trailing spaces are not part of an unquoted element, but escaped ones are.
    let keep = 0;
    for (;;) {
      const code = text.charCodeAt(this.position);
      if (Number.isNaN(code) || code === quote || code === openBrace) throw malformed;
      if (code === this.delimiter || code === closeBrace) break;
      if (code === backslash) {
        if (this.position + 1 >= text.length) throw malformed;
        value += text[this.position + 1];
        keep = value.length;
        escaped = true;
        this.position += 2;
      } else {
        value += text[this.position];
        if (!isSpace(code)) keep = value.length;
        this.position++;
      }
    }
    value = value.slice(0, keep);
    if (value.length === 0) throw malformed;
    if (!escaped && value.length === 4 && value.toUpperCase() === 'NULL') return 'null';
    return this.element(value);
  }

  private skipSpaces(): void {
    while (isSpace(this.text.charCodeAt(this.position))) this.position++;
  }
}
