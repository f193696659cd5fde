/**
 * Reads one dotted path out of a json/jsonb text without JSON.parse: a number keeps its exact
 * digits (JSON.parse would round 12345678901234567890.5 to a double), an object or array comes
 * back as its own text, and the rest of the document is skipped, not built.
 *
 * Path segments name object keys; a segment of digits also indexes an array. When a `json`
 * (not jsonb) object repeats a key, the last one wins, as in jsonb.
 */

/** Thrown for text that is not JSON; the caller turns it into a bad row. */
export class JsonTextError extends Error {}

function skipSpace(text: string, index: number): number {
  let at = index;
  for (;;) {
    const code = text.charCodeAt(at);
    if (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) at++;
    else return at;
  }
}

function stringEnd(text: string, start: number): number {
  let at = start + 1;
  for (;;) {
    const quote = text.indexOf('"', at);
    if (quote === -1) throw new JsonTextError('unterminated string');
    let backslashes = 0;
    for (let back = quote - 1; text.charCodeAt(back) === 0x5c; back--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}

/** Index just past the value starting at `start`. */
function valueEnd(text: string, start: number): number {
  const first = text[start];
  if (first === '"') return stringEnd(text, start);
  if (first === '{' || first === '[') {
    let depth = 0;
    let at = start;
    while (at < text.length) {
      const char = text[at];
      if (char === '"') {
        at = stringEnd(text, at);
        continue;
      }
      if (char === '{' || char === '[') depth++;
      else if (char === '}' || char === ']') {
        depth--;
        if (depth === 0) return at + 1;
      }
      at++;
    }
    throw new JsonTextError('unterminated object or array');
  }
  let at = start;
  while (at < text.length && !',}] \n\r\t'.includes(text[at]!)) at++;
  if (at === start)
    throw new JsonTextError(`unexpected ${first === undefined ? 'end' : `'${first}'`}`);
  return at;
}

function keyText(text: string, start: number, end: number): string {
  const inner = text.slice(start + 1, end - 1);
  return inner.includes('\\') ? (JSON.parse(text.slice(start, end)) as string) : inner;
}

/** Start of the member `segment` in the object or array at `start`, or -1. */
function member(text: string, start: number, segment: string, index: number): number {
  const open = text[start];
  let at = skipSpace(text, start + 1);
  if (open === '{') {
    let found = -1;
    if (text[at] === '}') return -1;
    for (;;) {
      if (text[at] !== '"') throw new JsonTextError('expected a key');
      const keyEnd = stringEnd(text, at);
      const key = keyText(text, at, keyEnd);
      at = skipSpace(text, keyEnd);
      if (text[at] !== ':') throw new JsonTextError("expected ':'");
      const valueStart = skipSpace(text, at + 1);
      if (key === segment) found = valueStart;
      at = skipSpace(text, valueEnd(text, valueStart));
      if (text[at] === ',') at = skipSpace(text, at + 1);
      else if (text[at] === '}') return found;
      else throw new JsonTextError("expected ',' or '}'");
    }
  }
  if (open === '[' && index >= 0) {
    if (text[at] === ']') return -1;
    for (let position = 0; ; position++) {
      if (position === index) return at;
      at = skipSpace(text, valueEnd(text, at));
      if (text[at] === ',') at = skipSpace(text, at + 1);
      else if (text[at] === ']') return -1;
      else throw new JsonTextError("expected ',' or ']'");
    }
  }
  return -1;
}

/**
 * The text at `path` in `json`: a string's value, a number's digits, `true`/`false`, an object's
 * or array's JSON text. Undefined when the path is missing or holds JSON null.
 */
export function jsonPathText(json: string, path: readonly string[]): string | undefined {
  let at = skipSpace(json, 0);
  for (const segment of path) {
    const open = json[at];
    if (open !== '{' && open !== '[') return undefined;
    at = member(json, at, segment, /^\d+$/.test(segment) ? Number(segment) : -1);
    if (at === -1) return undefined;
  }
  const end = valueEnd(json, at);
  const first = json[at];
  if (first === '"') return keyText(json, at, end);
  const raw = json.slice(at, end);
  return raw === 'null' ? undefined : raw;
}
