import { describeError, ValueError } from '../errors/millrace-error.js';
import type { TargetValue } from '../values/column-types.js';
import type { Conversion } from '../values/compile-conversion.js';
import { convertOrFail, failCompile } from './compile-failure.js';
import { compileTransforms } from './compile-transforms.js';
import type { SourceRow } from './compiled-mapping.js';
import type { DirectionTypes, NamedColumn } from './direction-types.js';
import { JsonTextError, jsonPathText } from './json-path.js';
import type { DeriveRule, MappingSpec, TemplateRule } from './mapping-spec.js';
import type { ResolvedColumn } from './resolve-mapping.js';

/** One target column computed from a row. */
export interface ColumnOp {
  readonly target: string;
  /** Source columns it reads; when one is absent (UNCHANGED), the column is left out of the write. */
  readonly deps: readonly string[];
  readonly compute: (row: SourceRow) => TargetValue;
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function compileConst<S, T extends NamedColumn>(
  spec: MappingSpec,
  types: DirectionTypes<S, T>,
  column: T,
  field: string,
  text: string | null,
) {
  const conversion = convertOrFail(spec, types, 'text', column, field);
  let value: TargetValue;
  try {
    value = conversion(text);
  } catch (error) {
    return failCompile(
      spec,
      `${field}.const`,
      `the constant does not fit ${types.describeTarget(column)}: ${describeError(error)}`,
      error,
    );
  }
  return { target: column.name, deps: [], compute: () => value };
}

function compileCopy(
  conversion: Conversion,
  target: string,
  from: string,
  fallback?: string | null,
): ColumnOp {
  if (fallback === undefined)
    return { target, deps: [from], compute: (row) => conversion(row[from] as string | null) };
  return {
    target,
    deps: [from],
    compute: (row) => {
      const value = row[from] as string | null;
      return conversion(value === null ? fallback : value);
    },
  };
}

function compileTemplate(conversion: Conversion, target: string, rule: TemplateRule): ColumnOp {
  const { parts } = rule;
  const deps = [...new Set(parts.flatMap((part) => (part.kind === 'column' ? [part.column] : [])))];
  const transform = compileTransforms(rule.transform);
  const fallback = rule.default ?? null;
  return {
    target,
    deps,
    compute: (row) => {
      let text = '';
      for (const part of parts) {
        if (part.kind === 'text') text += part.text;
        else {
          const value = row[part.column] as string | null;
          if (value === null)
            return conversion(fallback !== null && transform ? transform(fallback) : fallback);
          text += value;
        }
      }
      return conversion(transform ? transform(text) : text);
    },
  };
}

/** Reads `path` out of a JSON document; text that is not JSON is a bad row. */
function compilePathReader(
  spec: MappingSpec,
  column: string,
  from: string,
  path: readonly string[],
) {
  return (json: string): string | null => {
    try {
      return jsonPathText(json, path) ?? null;
    } catch (error) {
      if (!(error instanceof JsonTextError)) throw error;
      throw new ValueError(
        'VALUE_INVALID_JSON',
        `${spec.name}: ${column}: ${from} is not valid JSON (${error.message})`,
        { context: { mapping: spec.name, column, value: shorten(json) } },
      );
    }
  };
}

function compileDerive<S, T extends NamedColumn>(
  spec: MappingSpec,
  types: DirectionTypes<S, T>,
  column: T,
  rule: DeriveRule,
  resolved: ResolvedColumn<S, T>,
): ColumnOp {
  const { from, path } = rule;
  const target = column.name;
  const source = resolved.reads.get(from)!;
  if (path !== undefined && !types.sourceIsJson(source.type)) {
    failCompile(
      spec,
      `${resolved.field}.path`,
      `path needs a json or jsonb column; ${from} is ${types.describeSource(source.type)}`,
    );
  }
  const transform = compileTransforms(rule.transform);
  const conversion = convertOrFail(spec, types, 'text', column, resolved.field);
  const hasDefault = rule.default !== undefined;
  const fallback = rule.default ?? null;
  // Map keys compare like filter values: 1 matches a numeric '1.00', true a boolean 't'.
  const order = path === undefined ? types.sourceOrder(source.type) : undefined;
  const keyOf = order ? (text: string) => order.key(text) ?? text : (text: string) => text;
  const map =
    rule.map && new Map([...rule.map].map(([key, value]) => [keyOf(key), value] as const));
  const readPath = path ? compilePathReader(spec, target, from, path) : undefined;
  const unmapped = (value: string): never => {
    throw new ValueError(
      'VALUE_UNMAPPED',
      `${spec.name}: ${target}: value '${shorten(value)}' is not in the map and there is no default`,
      { context: { mapping: spec.name, column: target, value: shorten(value) } },
    );
  };
  return {
    target,
    deps: [from],
    compute: (row) => {
      let text = row[from] as string | null;
      if (text !== null && readPath) text = readPath(text);
      if (map) {
        if (text !== null) {
          const mapped = map.get(keyOf(text));
          if (mapped !== undefined) text = mapped;
          else if (hasDefault) text = fallback;
          else unmapped(text);
        } else if (hasDefault) text = fallback;
      } else if (text === null && hasDefault) text = fallback;
      return conversion(text !== null && transform ? transform(text) : text);
    },
  };
}

/** A resolved column (every name found) as the closure that computes it from a source row. */
export function compileColumn<S, T extends NamedColumn>(
  spec: MappingSpec,
  types: DirectionTypes<S, T>,
  resolved: ResolvedColumn<S, T>,
): ColumnOp {
  const { rule, field } = resolved;
  const column = resolved.column!;
  switch (rule.kind) {
    case 'const':
      return compileConst(spec, types, column, field, rule.value);
    case 'copy': {
      const type = resolved.reads.get(rule.from)!.type;
      return compileCopy(
        convertOrFail(spec, types, type, column, field),
        column.name,
        rule.from,
        rule.default,
      );
    }
    case 'template':
      return compileTemplate(convertOrFail(spec, types, 'text', column, field), column.name, rule);
    case 'derive':
      return compileDerive(spec, types, column, rule, resolved);
  }
}
