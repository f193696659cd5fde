import { ok, okUnless, refuse, type TextConverter, warning } from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import { type CrmPlanner, cannotWrite, crmSourceChars, isTextual } from './crm-source.js';
import { failValue } from './fail-value.js';
import type { SourceSpec } from './source-spec.js';

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * Text into text, varchar(n) or char(n): unchanged, never cut. PostgreSQL's text cannot hold
 * NUL, which MySQL's can: such a value is rejected. char(n) ignores trailing spaces for length,
 * as PostgreSQL does.
 */
function compileTextTarget(target: SourceSpec, site: ConversionSite): TextConverter {
  const limit = target.maxChars;
  const { trimTrailingSpaces } = target;
  return (text) => {
    if (text.includes('\u0000'))
      failValue(site, 'VALUE_INVALID', text, `holds a NUL character, which ${target.label} cannot`);
    if (limit === undefined || text.length <= limit) return text;
    const counted = trimTrailingSpaces ? text.replace(/ +$/, '') : text;
    const length = codePoints(counted);
    if (length <= limit) return text;
    return failValue(
      site,
      'VALUE_TOO_LONG',
      text,
      `is longer than ${target.label}`,
      `${length} characters`,
    );
  };
}

const planText: CrmPlanner = (source, target) => {
  if (source.kind === 'binary') return cannotWrite(source, target, 'map it to a bytea column');
  const build = (site: ConversionSite) => compileTextTarget(target, site);
  if (target.maxChars === undefined || source.kind === 'derived') return ok(build);
  const bound = crmSourceChars(source);
  return okUnless(
    [
      bound === undefined || bound > target.maxChars
        ? `values longer than ${target.maxChars} characters are rejected`
        : undefined,
    ],
    build,
  );
};

/** Labels of the PostgreSQL enum: a value that is not one of them is rejected, not matched loosely. */
const planEnum: CrmPlanner = (source, target, column) => {
  if (!isTextual(source))
    return cannotWrite(source, target, 'map it from an ENUM or character column');
  const labels = column.type.enumLabels;
  const build = (site: ConversionSite): TextConverter => {
    if (labels === undefined) return (text) => text;
    const known = new Set(labels);
    return (text) =>
      known.has(text)
        ? text
        : failValue(site, 'VALUE_INVALID', text, `is not one of the labels of ${target.label}`);
  };
  if (source.kind === 'enum' && labels !== undefined) {
    const missing = source.labels.filter((label) => !labels.includes(label));
    if (missing.length === 0) return ok(build);
    return warning(
      `labels ${missing.map((label) => `'${label}'`).join(', ')} are not labels of ${target.label}: such values are rejected`,
      build,
    );
  }
  return warning(`values must be labels of ${target.label}; others are rejected`, build);
};

const uuidSyntax = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const binaryUuid = /^\\x[0-9a-f]{32}$/i;

/** CHAR(36) (or any text) holding a UUID, or BINARY(16) as `\x` + 32 hex digits. */
const planUuid: CrmPlanner = (source, target) => {
  if (source.kind === 'binary') {
    return warning('values that are not 16 bytes are rejected', (site) => (text) => {
      if (!binaryUuid.test(text))
        failValue(site, 'VALUE_INVALID', text, `is not 16 bytes; ${target.label} needs them`);
      const hex = text.slice(2).toLowerCase();
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    });
  }
  if (source.kind !== 'string' && source.kind !== 'derived')
    return cannotWrite(source, target, 'map it from a CHAR(36) or BINARY(16) column');
  const build =
    (site: ConversionSite): TextConverter =>
    (text) =>
      uuidSyntax.test(text)
        ? text.toLowerCase()
        : failValue(site, 'VALUE_INVALID', text, `is not a UUID; ${target.label} needs one`);
  const reason = 'values that are not UUIDs are rejected';
  // CHAR(36) is how MySQL stores UUIDs: the intended pair, not a risky one.
  const uuidColumn = source.kind === 'string' && source.label === 'char(36)';
  return uuidColumn ? ok(build, reason) : warning(reason, build);
};

const trueWords = new Set(['1', 't', 'true', 'y', 'yes', 'on']);
const falseWords = new Set(['0', 'f', 'false', 'n', 'no', 'off']);

/** TINYINT(1) / BOOLEAN (0 or 1), BIT(1), or the words PostgreSQL reads as a boolean. */
const planBoolean: CrmPlanner = (source, target) => {
  const numeric = source.kind === 'integer' || source.kind === 'bit';
  if (!numeric && !isTextual(source))
    return cannotWrite(source, target, 'map it from a TINYINT(1) or BIT(1) column');
  const build =
    (site: ConversionSite): TextConverter =>
    (text) => {
      const word = numeric ? text : text.trim().toLowerCase();
      if (word === '1' || (!numeric && trueWords.has(word))) return 'true';
      if (word === '0' || (!numeric && falseWords.has(word))) return 'false';
      return failValue(
        site,
        'VALUE_INVALID',
        text,
        `is not ${numeric ? '0 or 1' : 'a boolean'}; ${target.label} needs one`,
      );
    };
  if (
    (source.kind === 'integer' && source.isBoolean) ||
    (source.kind === 'bit' && source.bits === 1)
  )
    return ok(build, 'values other than 0 and 1 are rejected');
  return warning(
    numeric
      ? 'values other than 0 and 1 are rejected'
      : 'values other than true/false, yes/no, on/off, 1/0 are rejected',
    build,
  );
};

/** Character, enum, uuid and boolean targets. */
export const planCrmText: CrmPlanner = (source, target, column) => {
  switch (target.family) {
    case 'text':
      return planText(source, target, column);
    case 'enum':
      return planEnum(source, target, column);
    case 'uuid':
      return planUuid(source, target, column);
    case 'boolean':
      return planBoolean(source, target, column);
    default:
      return refuse(`${target.label} is not a character, enum, uuid or boolean type`);
  }
};
