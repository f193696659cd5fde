import { ok, type TextConverter, warning } from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import { type CrmPlanner, cannotWrite } from './crm-source.js';
import { failValue } from './fail-value.js';
import { jsonString } from './json-text.js';
import type { SourceSpec } from './source-spec.js';

const numberKinds = new Set(['integer', 'decimal', 'float', 'bit', 'year']);
const quotedKinds = new Set(['string', 'enum', 'date', 'datetime', 'timestamp', 'time']);
const jsonNumberSyntax = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * JSON text into json or jsonb, unchanged once it parses: jsonb keeps numbers exactly (as
 * numeric), json keeps the text. jsonb cannot hold the NUL character (`\u0000`).
 */
function compileJson(target: SourceSpec, site: ConversionSite): TextConverter {
  const binary = target.name === 'jsonb';
  return (text) => {
    try {
      JSON.parse(text);
    } catch {
      failValue(site, 'VALUE_INVALID', text, `is not valid JSON; ${target.label} needs it`);
    }
    if (binary && text.includes('\\u0000'))
      failValue(site, 'VALUE_INVALID', text, 'holds \\u0000, which jsonb cannot');
    return text;
  };
}

/** JSON (MySQL's type, MariaDB's LONGTEXT with JSON_VALID), numbers as JSON numbers, the rest as JSON strings. */
const planJson: CrmPlanner = (source, target) => {
  if (source.kind === 'json') return ok((site) => compileJson(target, site));
  if (source.kind === 'derived')
    return warning('values that are not valid JSON are rejected', (site) =>
      compileJson(target, site),
    );
  if (numberKinds.has(source.kind)) {
    return ok(
      (site) => (text) =>
        jsonNumberSyntax.test(text)
          ? text
          : failValue(
              site,
              'VALUE_INVALID',
              text,
              `is not a JSON number; ${target.label} needs one`,
            ),
    );
  }
  if (quotedKinds.has(source.kind)) return ok(() => jsonString);
  return cannotWrite(source, target, 'map it to a bytea or text column');
};

const hexBytes = /^\\x(?:[0-9a-fA-F]{2})*$/;

/** BINARY/VARBINARY/BLOB arrive as `\x` + hex (the source's spelling): bound as the bytes. */
const planBytea: CrmPlanner = (source, target) => {
  if (source.kind === 'binary') {
    return ok(
      (site) => (text) =>
        hexBytes.test(text)
          ? Buffer.from(text.slice(2), 'hex')
          : failValue(
              site,
              'VALUE_INVALID',
              text,
              `is not \\x followed by hex digits; ${target.label} needs bytes`,
            ),
    );
  }
  if (source.kind === 'string' || source.kind === 'derived')
    return ok(() => (text) => Buffer.from(text, 'utf8'), 'the text is stored as its UTF-8 bytes');
  return cannotWrite(source, target, 'map it from a BINARY, VARBINARY or BLOB column');
};

/** json/jsonb and bytea targets. */
export const planCrmDocument: CrmPlanner = (source, target, column) =>
  target.family === 'bytea' ? planBytea(source, target, column) : planJson(source, target, column);
