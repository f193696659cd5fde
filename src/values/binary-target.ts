import type { ConversionSite } from './conversion-site.js';
import { failValue } from './fail-value.js';
import type { BinaryTarget } from './target-spec.js';

/**
 * A length check for BINARY/VARBINARY/BLOB columns, in bytes. `text` is the value as it came,
 * for the message. BINARY(n) values shorter than n are left for the server to pad with zero
 * bytes (compileCanonical pads the same way).
 */
export function compileBinaryTarget(
  target: BinaryTarget,
  site: ConversionSite,
): (bytes: Buffer, text: string) => Buffer {
  const limit = target.maxBytes;
  return (bytes, text) => {
    if (bytes.length <= limit) return bytes;
    return failValue(
      site,
      'VALUE_TOO_LONG',
      text,
      `is longer than ${target.label} (${limit} ${limit === 1 ? 'byte' : 'bytes'})`,
      `${bytes.length} ${bytes.length === 1 ? 'byte' : 'bytes'}`,
    );
  };
}
