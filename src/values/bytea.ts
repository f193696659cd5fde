import { compileBinaryTarget } from './binary-target.js';
import {
  cannotStore,
  type FamilyPlanner,
  okUnless,
  type TextConverter,
  warning,
} from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import { failValue } from './fail-value.js';
import { jsonString } from './json-text.js';
import { planTextTarget } from './text-target-plan.js';

/** PostgreSQL's limit for one field, in bytes. */
const pgFieldLimit = 1_073_741_823;

/**
 * bytea. Its hex text (`\x0a0b`, as bytea_output=hex makes every session write it; the old
 * escape form is read too) becomes a Buffer for BINARY/VARBINARY/BLOB columns, length-checked
 * in bytes. Into text and JSON as that hex text.
 */
export const planByteaConversion: FamilyPlanner = (source, target) => {
  switch (target.kind) {
    case 'binary':
      return okUnless(
        [
          target.maxBytes < pgFieldLimit
            ? `values longer than ${target.maxBytes} bytes are rejected`
            : undefined,
          target.fixed ? 'shorter values are padded with zero bytes' : undefined,
        ],
        (site) => compileByteaToBinary(site, compileBinaryTarget(target, site)),
      );
    case 'string': {
      const text = planTextTarget(source, target);
      return warning(
        ['values are stored as hex text (\\x…)', text.reason].filter(Boolean).join('; '),
        text.build!,
      );
    }
    case 'json':
      return warning(
        'values are stored as JSON strings of their hex text (\\x…)',
        () => jsonString,
      );
    default:
      return cannotStore(source, target, 'map it to a BLOB or VARBINARY column');
  }
};

function compileByteaToBinary(
  site: ConversionSite,
  checkLength: (bytes: Buffer, text: string) => Buffer,
): TextConverter {
  return (text) =>
    checkLength(
      decodeBytea(text) ?? failValue(site, 'VALUE_INVALID', text, 'is not a valid bytea text'),
      text,
    );
}

/** The bytes of bytea's hex form `\x…`, or of its escape form (`\\`, `\ooo`, plain ASCII). */
function decodeBytea(text: string): Buffer | undefined {
  if (text.startsWith('\\x')) {
    const bytes = Buffer.from(text.slice(2), 'hex');
    // Buffer.from stops quietly at the first bad hex pair; a short result means bad input.
    return bytes.length * 2 === text.length - 2 ? bytes : undefined;
  }
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return undefined;
    if (code !== 92) {
      bytes.push(code);
    } else if (text.charCodeAt(i + 1) === 92) {
      bytes.push(92);
      i++;
    } else if (/^[0-3][0-7]{2}$/.test(text.slice(i + 1, i + 4))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    } else {
      return undefined;
    }
  }
  return Buffer.from(bytes);
}
