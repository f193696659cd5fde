import type { TargetValue } from '../values/column-types.js';

/**
 * One spelling for a target key, whichever JS type a driver or a conversion produced for it: the
 * compiled mapping may give `5n` or `'5'`, mysql2 gives `5` for an INT and `'5'` for a BIGINT.
 * Equal keys on the target must compare equal here, or a window would miss a streamed change.
 */
export function keyIdentity(key: readonly TargetValue[]): string {
  let text = '';
  for (const value of key) {
    if (value === null) text += '\u0000';
    else if (Buffer.isBuffer(value)) text += `x${value.toString('hex')}`;
    else text += `v${String(value)}`;
    text += '\u0001';
  }
  return text;
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

/**
 * A target key value in the text form PostgreSQL's input functions read back into the source
 * column's type (the key columns are plain conversions: '42', a UUID, a DATETIME(6) in UTC).
 */
export function targetValueAsText(value: TargetValue): string | null {
  if (value === null) return null;
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  return String(value);
}
