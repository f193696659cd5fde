import type { TargetValue } from './column-types.js';

/**
 * Keys spelled as text, one spelling per purpose. Identities live in one process only (Map keys,
 * comparisons); records and encodings are stored, so their spelling is part of the control
 * tables' format and must not change.
 */

/**
 * A Map identity for a target key tuple, so equal keys coalesce: one string per key, no arrays
 * (TargetBatch computes one per change). `5`, `5n` and `'5'` are one key, whichever JS type a
 * conversion or a driver produced; NULL and Buffers start with U+0000, which no PostgreSQL
 * text holds, so they meet no string.
 */
export function targetKeyIdentity(key: readonly TargetValue[]): string {
  if (key.length === 1) return identityPart(key[0]!);
  let text = '';
  for (const value of key) text += `${identityPart(value)}\u0001`;
  return text;
}

function identityPart(value: TargetValue): string {
  if (typeof value === 'string') return value;
  if (value === null) return '\u0000null';
  return Buffer.isBuffer(value) ? `\u0000x${value.toString('hex')}` : String(value);
}

/** Whether two target keys are one key, as the writer will see them. */
export function sameTargetKey(a: readonly TargetValue[], b: readonly TargetValue[]): boolean {
  return a.length === b.length && targetKeyIdentity(a) === targetKeyIdentity(b);
}

/**
 * An identity for a key given as text parts (PostgreSQL text forms, the audit's canonical
 * forms): a single part is itself, several are a JSON array, so no two keys of the same columns
 * share one whatever characters their parts hold.
 */
export function textKeyIdentity(parts: readonly string[]): string {
  return parts.length === 1 ? parts[0]! : JSON.stringify(parts);
}

/**
 * The identity of a source row's key from its key columns' text forms, as the stream's rows and
 * the backfill's reads carry them; undefined when a key column has no text (NULL, unchanged TOAST).
 */
export function rowKeyIdentity(
  row: Readonly<Record<string, unknown>>,
  columns: readonly string[],
): string | undefined {
  const parts: string[] = [];
  for (const column of columns) {
    const value = row[column];
    if (typeof value !== 'string') return undefined;
    parts.push(value);
  }
  return textKeyIdentity(parts);
}

/**
 * A target key as a record for dead letters and logs (stored in millrace_dead_letters.key):
 * Buffers as `\x…` hex and bigints as decimal strings, which JSON cannot hold; other values as
 * they are.
 */
export function targetKeyRecord(
  columns: readonly string[],
  key: readonly TargetValue[],
): Record<string, string | number | null> {
  const record: Record<string, string | number | null> = {};
  columns.forEach((column, index) => {
    const value = key[index] ?? null;
    record[column] = Buffer.isBuffer(value)
      ? `\\x${value.toString('hex')}`
      : typeof value === 'bigint'
        ? value.toString()
        : value;
  });
  return record;
}

/**
 * A target key value in the text form PostgreSQL's input functions read back into the source
 * column's type (the key columns are plain conversions: '42', a UUID, a DATETIME(6) in UTC).
 */
export function targetValueAsText(value: TargetValue): string | null {
  if (value === null) return null;
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  return String(value);
}

/** A target key as JSON for millrace_backfills.prune_key (Buffers as `{ "hex": … }`). */
export function encodeTargetKey(key: readonly TargetValue[]): string {
  return JSON.stringify(
    key.map((value) =>
      Buffer.isBuffer(value)
        ? { hex: value.toString('hex') }
        : typeof value === 'bigint'
          ? value.toString()
          : value,
    ),
  );
}

export function decodeTargetKey(text: string): readonly TargetValue[] {
  const parsed = JSON.parse(text) as unknown[];
  return parsed.map((value): TargetValue => {
    if (value !== null && typeof value === 'object' && 'hex' in value) {
      return Buffer.from(String((value as { hex: unknown }).hex), 'hex');
    }
    return value as string | number | null;
  });
}

/** A source key (PostgreSQL text forms) as JSON for millrace_backfills.last_key. */
export function encodeSourceKey(key: readonly string[]): string {
  return JSON.stringify(key);
}

export function decodeSourceKey(text: string): readonly string[] {
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((value) => typeof value === 'string')) {
    throw new Error(`not a source key: ${text}`);
  }
  return parsed as string[];
}
