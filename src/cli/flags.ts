import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors/millrace-error.js';
import type { LetterIds, LetterSide } from './letter-ids.js';

/**
 * Every check of a command's own flags, one parser per kind of value. Each failure is a usage
 * error (exit 2) that names the flag, says what it takes and echoes what it got, so the fix is
 * in the message. Options shared by all commands (URLs, names, ports) are checked with their
 * environment variables in src/config; a fixed set of words is left to commander's `choices`.
 */

function invalid(flag: string, expected: string, text: string): UsageError {
  return new UsageError('USAGE', `invalid ${flag}: expected ${expected} (got '${text}')`);
}

/** Seconds greater than zero, fractions allowed: `--heartbeat 0.5`. */
export function parsePositiveSeconds(flag: string, text: string): number {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw invalid(flag, 'a positive number of seconds', text);
  return seconds;
}

/** Seconds from zero up, returned in whole milliseconds; `example` shows the form in the message. */
export function parseSecondsAsMs(flag: string, text: string, example: number): number {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw invalid(flag, `a number of seconds like ${example}`, text);
  return Math.round(seconds * 1000);
}

/** A whole number of rows from zero up; `example` shows the form in the message. */
export function parseRowCount(flag: string, text: string, example: number): number {
  const rows = Number(text);
  if (!Number.isInteger(rows) || rows < 0)
    throw invalid(flag, `a whole number of rows like ${example}`, text);
  return rows;
}

/** A whole number of rows from 1 to `max`, digits only (no `1e3`, no `0x10`). */
export function parseRowLimit(flag: string, text: string, max: number): number {
  const rows = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(rows) || rows < 1 || rows > max)
    throw invalid(flag, `a whole number of rows from 1 to ${max}`, text);
  return rows;
}

/** A flag that means nothing without another one, e.g. `--dry-run` without `--repair`. */
export function requireCompanion(
  given: { readonly flag: string; readonly set: boolean },
  companion: { readonly flag: string; readonly set: boolean },
  example: string,
): void {
  if (given.set && !companion.set)
    throw new UsageError('USAGE', `${given.flag} only goes with ${companion.flag} (${example})`);
}

/** A file to write: its directory must exist, checked before any database is touched. */
export function checkOutputFile(flag: string, file: string | undefined): void {
  if (file === undefined) return;
  const directory = path.dirname(path.resolve(file));
  if (!existsSync(directory) || !statSync(directory).isDirectory())
    throw new UsageError('USAGE', `invalid ${flag}: directory ${directory} does not exist`);
}

/** A CRM table named on the command line as `schema.table`, as mappings spell it. */
export function parseSourceTable(text: string): { schema: string; table: string } {
  const match = /^([^.\s"]+)\.([^.\s"]+)$/.exec(text);
  if (!match) throw invalid('table', 'schema.table, like public.sale_order', text);
  return { schema: match[1]!, table: match[2]! };
}

/**
 * `dead-letters retry --id` values, as `list` prints them (`42`, `crm:42`, or `mes:42`); undefined
 * when none were given.
 */
export function parseLetterIds(flag: string, texts: readonly string[]): LetterIds | undefined {
  if (texts.length === 0) return undefined;
  const pinned: Record<LetterSide, number[]> = { mes: [], crm: [] };
  const bare: number[] = [];
  for (const text of texts) {
    const parts = /^\s*(?:(mes|crm):)?(\d+)\s*$/.exec(text);
    const id = Number(parts?.[2]);
    if (!parts || !Number.isSafeInteger(id) || id < 1)
      throw invalid(flag, 'a letter id as dead-letters list prints it, like 42 or crm:42', text);
    const side = parts[1] as LetterSide | undefined;
    (side === undefined ? bare : pinned[side]).push(id);
  }
  return { pinned, bare };
}

/** A moment: an ISO 8601 date or date-time (`2024-05-01`, `2024-05-01T12:00:00Z`), read as UTC when no offset is given. */
export function parseMoment(flag: string, text: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(
    text,
  );
  const withZone =
    iso && !iso[4] ? `${text.replace(' ', 'T')}${iso[1] ? 'Z' : 'T00:00:00Z'}` : text;
  const moment = new Date(withZone);
  if (!iso || Number.isNaN(moment.getTime()))
    throw invalid(flag, 'a date or date-time like 2024-05-01 or 2024-05-01T12:00:00Z', text);
  return moment;
}
