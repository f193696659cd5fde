import type { z } from 'zod';
import { allowedKeysPrefix } from './mapping-schema.js';

/** A zod issue in the words of the YAML file: where (`columns.state.map`) and what is wrong. */
interface FieldIssue {
  /** Path as keys and list indexes, for finding the line in the YAML document. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** `columns.title.transform[1].truncate`: dots between keys, brackets for list positions. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text;
}

const typeWords: Readonly<Record<string, string>> = {
  string: 'a text value',
  number: 'a number',
  bigint: 'a number',
  boolean: 'true or false',
  object: 'an object',
  record: 'an object',
  array: 'a list',
  null: 'null',
};

/** zod's default messages start with a capital ("Invalid input: …"); ours never do. */
function isOwnMessage(message: string): boolean {
  return message !== '' && message[0] === message[0]!.toLowerCase();
}

/** Our own message as it stands, or `fallback` in place of zod's. */
function ownOr(message: string, fallback: string): string {
  return isOwnMessage(message) ? message : fallback;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

function unknownKeyMessage(key: string, message: string): string {
  if (!message.startsWith(allowedKeysPrefix)) return 'unknown key';
  const allowed = message.slice(allowedKeysPrefix.length).split(', ');
  const close = allowed
    .map((candidate) => ({ candidate, cost: distance(key.toLowerCase(), candidate.toLowerCase()) }))
    .filter(({ cost }) => cost <= Math.max(1, Math.floor(key.length / 3)))
    .sort((a, b) => a.cost - b.cost)[0];
  return close
    ? `unknown key (did you mean ${close.candidate}?)`
    : `unknown key (expected one of ${allowed.join(', ')})`;
}

/**
 * Flattens zod issues into one message per field. A failed union reports the branch whose type
 * matched the input (a rule object with a bad `map`), not "invalid input" for every branch. A
 * whole-object complaint is dropped when a field inside it has its own, more precise, message
 * (an unknown operator also leaves the condition without one).
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): FieldIssue[] {
  const all = flatten(issues, []);
  const inside = (outer: FieldIssue, inner: FieldIssue) =>
    inner.path.length > outer.path.length &&
    outer.path.every((part, index) => inner.path[index] === part);
  return all.filter((issue) => !all.some((other) => inside(issue, other)));
}

function flatten(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly (string | number)[],
): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...(issue.path as (string | number)[])];
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys)
          out.push({ path: [...path, key], message: unknownKeyMessage(key, issue.message) });
        break;
      case 'invalid_union': {
        const matching = issue.errors.filter(
          (branch) =>
            !(
              branch.length === 1 &&
              branch[0]!.code === 'invalid_type' &&
              branch[0]!.path.length === 0
            ),
        );
        if (matching.length === 1) out.push(...flatten(matching[0]!, path));
        else out.push({ path, message: ownOr(issue.message, 'unexpected value') });
        break;
      }
      case 'invalid_type':
        out.push({
          path,
          message: ownOr(issue.message, `expected ${typeWords[issue.expected] ?? issue.expected}`),
        });
        break;
      case 'invalid_key':
        out.push({ path, message: flatten(issue.issues, [])[0]?.message ?? 'invalid key' });
        break;
      case 'invalid_value':
        out.push({
          path,
          message: ownOr(issue.message, `expected one of ${issue.values.map(String).join(', ')}`),
        });
        break;
      default:
        out.push({ path, message: ownOr(issue.message, issue.message.toLowerCase()) });
    }
  }
  return out;
}
