import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import { describeError, MappingError } from '../errors/millrace-error.js';
import { checkAcrossMappings } from './check-across-mappings.js';
import type { Direction } from './direction-types.js';
import { formatIssues, formatPath } from './format-issues.js';
import { lineOf, type MappingProblem, mappingErrorOf } from './mapping-problem.js';
import { crmMappingSchema, mappingSchema } from './mapping-schema.js';
import type { MappingSpec } from './mapping-spec.js';
import { normalizeMapping } from './normalize-mapping.js';

/** What a mappings directory holds: the mappings that are valid, and everything wrong with the rest. */
interface LoadedMappings {
  /** Valid mappings, in file order then position in the file. */
  readonly specs: readonly MappingSpec[];
  /** Errors of the mappings left out of `specs`, and of files that do not parse. */
  readonly problems: readonly MappingProblem[];
  /** The YAML files read, as spelled in messages. */
  readonly files: readonly string[];
}

const yamlExtension = /\.ya?ml$/i;

/** Field path → line, for every key and list item under a mapping's YAML node. */
function collectLines(node: unknown, lineCounter: LineCounter): Map<string, number> {
  const lines = new Map<string, number>();
  const lineAt = (offset: number | undefined) =>
    offset === undefined ? undefined : lineCounter.linePos(offset).line;
  const walk = (current: unknown, at: (string | number)[]) => {
    if (isMap(current)) {
      for (const pair of current.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const keyLine = lineAt((pair.key as Node | null)?.range?.[0]);
        const field = formatPath([...at, key]);
        if (keyLine !== undefined) lines.set(field, keyLine);
        walk(pair.value, [...at, key]);
      }
    } else if (isSeq(current)) {
      current.items.forEach((item, index) => {
        const itemLine = lineAt((item as Node | null)?.range?.[0]);
        if (itemLine !== undefined) lines.set(formatPath([...at, index]), itemLine);
        walk(item, [...at, index]);
      });
    }
  };
  const start = lineAt((node as Node | null)?.range?.[0]);
  if (start !== undefined) lines.set('', start);
  walk(node, []);
  return lines;
}

interface Candidate {
  readonly value: unknown;
  readonly node: unknown;
  /** Name for messages until the mapping's own name is known. */
  readonly label: string;
  readonly defaultName: string | undefined;
}

/** Reads one file: YAML syntax problems, or the mappings it holds (one per document or list item). */
function readFile(
  file: string,
  text: string,
  problems: MappingProblem[],
): { candidates: Candidate[]; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, {
    intAsBigInt: true,
    prettyErrors: true,
    lineCounter,
    uniqueKeys: true,
  });
  const candidates: Candidate[] = [];
  const base = path.basename(file).replace(yamlExtension, '');
  const docs = Array.isArray(documents) ? documents : [];
  for (const doc of docs) {
    const reported = [...doc.errors, ...doc.warnings];
    for (const error of reported) {
      const position = error.linePos?.[0];
      problems.push({
        level: 'error',
        code: 'YAML_SYNTAX',
        file,
        message: `YAML: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
        ...(position ? { line: position.line, column: position.col } : {}),
      });
    }
    if (reported.length > 0) continue;
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null)) continue;
    const value: unknown = doc.toJS({ maxAliasCount: 1000 });
    if (isSeq(contents)) {
      const single = contents.items.length === 1;
      contents.items.forEach((item, index) => {
        candidates.push({
          value: (value as unknown[])[index],
          node: item,
          label: single ? base : `${base}[${index}]`,
          defaultName: single ? base : undefined,
        });
      });
    } else {
      candidates.push({ value, node: contents, label: base, defaultName: base });
    }
  }
  if (candidates.length === 0 && problems.every((problem) => problem.file !== file)) {
    problems.push({
      level: 'error',
      code: 'EMPTY_FILE',
      file,
      message: 'the file holds no mapping',
    });
  }
  return { candidates, lineCounter };
}

/** The mapping files of `dir`, in name order; a missing directory or none is a usage mistake. */
function mappingFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new MappingError(
      'MAPPINGS_DIR_MISSING',
      `mappings directory ${dir} does not exist (set --mappings / MILLRACE_MAPPINGS)`,
      { context: { file: dir } },
    );
  }
  const files = readdirSync(dir)
    .filter((name) => yamlExtension.test(name) && !name.startsWith('.'))
    .sort()
    .map((name) => path.join(dir, name))
    .filter((file) => !statSync(file).isDirectory());
  if (files.length === 0) {
    throw new MappingError('NO_MAPPINGS', `no mapping files (*.yaml, *.yml) in ${dir}`, {
      context: { file: dir },
    });
  }
  return files;
}

/** Validates one mapping of a file: the schema, its name, then its rules (normalizeMapping). */
function readCandidate(
  file: string,
  candidate: Candidate,
  lineCounter: LineCounter,
  problems: MappingProblem[],
): MappingSpec | undefined {
  const lines = collectLines(candidate.node, lineCounter);
  const rawName = (candidate.value as { name?: unknown } | null)?.name;
  const label = typeof rawName === 'string' && rawName !== '' ? rawName : candidate.label;
  const at = (code: string, fieldPath: readonly (string | number)[], message: string) => {
    const field = formatPath(fieldPath);
    const line = lineOf(lines, field);
    return {
      level: 'error',
      code,
      file,
      mapping: label,
      ...(field === '' ? {} : { field }),
      message,
      ...(line === undefined ? {} : { line }),
    } satisfies MappingProblem;
  };
  const direction = (candidate.value as { direction?: unknown } | null)?.direction;
  const schema = direction === 'to-crm' ? crmMappingSchema : mappingSchema;
  const parsed = schema.safeParse(candidate.value);
  if (!parsed.success) {
    // In file order, as the person reading the messages edits it (zod reports unknown keys last).
    const issues = formatIssues(parsed.error.issues).map((issue) =>
      at('MAPPING_SCHEMA', issue.path, issue.message),
    );
    problems.push(...issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)));
    return undefined;
  }
  const name = parsed.data.name ?? candidate.defaultName;
  if (name === undefined) {
    problems.push(at('NAME_MISSING', ['name'], 'a mapping in a list of several needs a name'));
    return undefined;
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,190}$/.test(name)) {
    const message = `the file name does not make a valid mapping name ('${name}'): set name`;
    problems.push(at('NAME_INVALID', ['name'], message));
    return undefined;
  }
  const { spec, issues } = normalizeMapping({
    raw: parsed.data,
    name,
    file,
    lines,
    original: candidate.value,
  });
  for (const issue of issues) problems.push(at(issue.code, issue.path, issue.message));
  return spec;
}

/**
 * Reads every `*.yaml` / `*.yml` in `dir` (not recursively, in name order) and validates each
 * mapping: YAML syntax, the zod schema, soft-delete and column rules, then the checks across
 * mappings (unique names, one key per target table). Never throws for a bad mapping: the caller
 * decides whether problems are fatal (`loadMappings`) or listed (`mappings check`).
 */
export function readMappings(dir: string): LoadedMappings {
  const files = mappingFiles(dir);
  const problems: MappingProblem[] = [];
  const specs: MappingSpec[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      problems.push({
        level: 'error',
        code: 'FILE_UNREADABLE',
        file,
        message: `cannot read the file: ${describeError(error)}`,
      });
      continue;
    }
    const { candidates, lineCounter } = readFile(file, text, problems);
    for (const candidate of candidates) {
      const spec = readCandidate(file, candidate, lineCounter, problems);
      if (spec) specs.push(spec);
    }
  }
  const accepted = checkAcrossMappings(specs, problems);
  return Object.freeze({
    specs: Object.freeze(accepted),
    problems: Object.freeze(problems),
    files: Object.freeze(files),
  });
}

/**
 * The mappings of one direction of `dir`, for a command that runs them (to-mes unless asked
 * otherwise): any problem in any mapping of the directory is fatal (exit 2, one line).
 */
export function loadMappings(dir: string, direction: Direction = 'to-mes'): readonly MappingSpec[] {
  const loaded = readMappings(dir);
  if (loaded.problems.length > 0) throw mappingErrorOf(loaded.problems);
  return loaded.specs.filter((spec) => spec.direction === direction);
}
