import { ValueError } from '../errors/millrace-error.js';
import type { ConversionSite } from './conversion-site.js';

type ValueErrorCode = 'VALUE_INVALID' | 'VALUE_TOO_LONG' | 'VALUE_OUT_OF_RANGE';

/** Values up to this many code points are shown whole in messages. */
const wholeUpTo = 40;
/** Longer values show this many leading code points, then `…` and their length. */
const headLength = 10;

/**
 * Throws the ValueError for a value that cannot go into its column, e.g.
 * `production_orders.order_ref: 'abcdefghij…' (41 characters) is longer than varchar(40)`.
 * `size` (e.g. `70000 bytes`) is shown after the value; a value cut short always shows its
 * length in characters. The full value stays in `context.value` for the dead letter.
 */
export function failValue(
  site: ConversionSite,
  code: ValueErrorCode,
  value: string,
  problem: string,
  size?: string,
): never {
  const points = Array.from(value);
  const cut = points.length > wholeUpTo;
  const shown = cut ? `${points.slice(0, headLength).join('')}…` : value;
  const note = size ?? (cut ? `${points.length} characters` : undefined);
  throw new ValueError(
    code,
    `${site.mapping}.${site.column}: '${escapeControls(shown)}'${note === undefined ? '' : ` (${note})`} ${problem}`,
    { context: { mapping: site.mapping, column: site.column, value } },
  );
}

const namedControls: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A message stays one line whatever the value holds. */
function escapeControls(text: string): string {
  let escaped = '';
  for (const character of text) {
    const code = character.charCodeAt(0);
    escaped +=
      code < 32 || code === 127
        ? (namedControls[character] ?? `\\u${code.toString(16).padStart(4, '0')}`)
        : character;
  }
  return escaped;
}
