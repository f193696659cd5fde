import type { ConversionSite } from './conversion-site.js';
import { failValue } from './fail-value.js';
import type { EnumTarget, StringTarget } from './target-spec.js';

/**
 * A converter from text to a character column. CHAR/VARCHAR limits count code points (utf8mb4
 * characters, so an emoji counts one), TEXT limits count UTF-8 bytes, ENUM values must be one of
 * the labels exactly (MySQL would match case-insensitively and store the label's spelling: we
 * refuse rather than change the value). Nothing is ever cut short.
 */
export function compileStringTarget(
  target: StringTarget | EnumTarget,
  site: ConversionSite,
): (text: string) => string {
  if (target.kind === 'enum') {
    const labels = new Set(target.labels);
    return (text) => {
      if (labels.has(text)) return text;
      return failValue(site, 'VALUE_INVALID', text, `is not one of the labels of ${target.label}`);
    };
  }
  const { maxChars, maxBytes, padded } = target;
  if (maxChars !== null) {
    const tooLong = (text: string, length: number): never =>
      failValue(
        site,
        'VALUE_TOO_LONG',
        text,
        `is longer than ${target.label}`,
        `${length} characters`,
      );
    // CHAR(n) never keeps trailing spaces (MySQL strips them on read), so they cannot overflow it.
    if (padded) {
      return (text) => {
        const kept =
          text.length > 0 && text.charCodeAt(text.length - 1) === 32
            ? text.replace(/ +$/, '')
            : text;
        if (kept.length <= maxChars) return kept;
        const length = codePointLength(kept);
        return length <= maxChars ? kept : tooLong(text, length);
      };
    }
    return (text) => {
      // UTF-16 units never undercount code points, so a short string needs no counting.
      if (text.length <= maxChars) return text;
      const length = codePointLength(text);
      return length <= maxChars ? text : tooLong(text, length);
    };
  }
  const limit = maxBytes!;
  return (text) => {
    // One UTF-16 unit is at most 3 UTF-8 bytes (a surrogate pair, two units, is 4).
    if (text.length * 3 <= limit) return text;
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes <= limit) return text;
    return failValue(
      site,
      'VALUE_TOO_LONG',
      text,
      `is longer than ${target.label} (${limit} bytes)`,
      `${bytes} bytes`,
    );
  };
}

/** Length in code points: UTF-16 length less one per surrogate pair. */
function codePointLength(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) length--;
  }
  return length;
}
