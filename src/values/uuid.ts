import { compileBinaryTarget } from './binary-target.js';
import {
  cannotStore,
  type FamilyPlanner,
  okUnless,
  type TextConverter,
} from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import { failValue } from './fail-value.js';
import { jsonString } from './json-text.js';
import { planTextOrJson, planTextTarget } from './text-target-plan.js';

/**
 * uuid. Into CHAR(36)/VARCHAR as PostgreSQL writes it (lower case, hyphenated); into
 * BINARY(16)/VARBINARY/BLOB as its 16 bytes in written order (MySQL's UUID_TO_BIN without swap).
 */
export const planUuidConversion: FamilyPlanner = (source, target) => {
  switch (target.kind) {
    case 'string':
      if (target.maxChars !== null && target.maxChars < 36) {
        return cannotStore(
          source,
          target,
          'a uuid needs 36 characters: use CHAR(36) or BINARY(16)',
        );
      }
      return planTextTarget(source, target);
    case 'binary':
      if (target.maxBytes < 16)
        return cannotStore(source, target, 'a uuid needs 16 bytes: use BINARY(16)');
      return okUnless(
        [target.fixed && target.maxBytes > 16 ? 'values are padded with zero bytes' : undefined],
        (site) => compileUuidBytes(site, compileBinaryTarget(target, site)),
      );
    default:
      return planTextOrJson(source, target, {
        json: jsonString,
        instead: 'map it to a CHAR(36), BINARY(16) or JSON column',
      });
  }
};

const uuidSyntax =
  /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

function compileUuidBytes(
  site: ConversionSite,
  checkLength: (bytes: Buffer, text: string) => Buffer,
): TextConverter {
  return (text) => {
    if (!uuidSyntax.test(text)) failValue(site, 'VALUE_INVALID', text, 'is not a valid uuid');
    return checkLength(Buffer.from(text.replace(/-/g, ''), 'hex'), text);
  };
}
