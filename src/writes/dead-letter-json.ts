import type { DeadLetter } from './write-chunk.js';

/**
 * How a dead letter's key and source values are stored (as JSON text, by both engines' dead-letter
 * tables), so the commands that list and replay letters read one spelling whichever side wrote it.
 */

/** JSON for a dead letter's values: Buffers as hex, the UNCHANGED sentinel spelled out. */
export function letterJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') return item.toString();
    if (typeof item === 'symbol') return { unchanged: true };
    if (item && typeof item === 'object' && (item as { type?: string }).type === 'Buffer') {
      return `\\x${Buffer.from((item as { data: number[] }).data).toString('hex')}`;
    }
    return item;
  });
}

/**
 * Source values kept with a letter, at most this long as JSON: a row too wide for the target must
 * not make its own dead letter too wide too. The key always stays, and a replay re-reads the
 * source row by it.
 */
const maxSourceJson = 256 * 1024;

export function sourceJson(values: Readonly<Record<string, unknown>> | null): string {
  if (values === null) return 'null';
  // Symbols are skipped by JSON.stringify as object values: spell them out first.
  const plain: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(values))
    plain[column] = typeof value === 'symbol' ? { unchanged: true } : value;
  const json = letterJson(plain);
  return json.length <= maxSourceJson ? json : letterJson({ omitted: `${json.length} characters` });
}

/** Approximate size of a letter as stored, for statement bounds. */
export function letterBytes(letter: DeadLetter): number {
  let bytes = letter.error.length;
  for (const value of Object.values(letter.origin.sourceValues ?? {})) {
    if (typeof value === 'string') bytes += value.length;
  }
  return 1_024 + Math.min(maxSourceJson, bytes);
}
