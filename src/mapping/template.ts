import type { TemplatePart } from './mapping-spec.js';

type ParsedTemplate =
  | { readonly ok: true; readonly parts: readonly TemplatePart[] }
  | { readonly ok: false; readonly message: string };

/**
 * Splits `"{name}/{partner_id}"` into literal text and column placeholders. `{{` and `}}` write a
 * literal brace. Placeholders are checked against the source table later, when its schema is known.
 */
export function parseTemplate(template: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  let text = '';
  for (let index = 0; index < template.length; index++) {
    const char = template[index]!;
    if (char === '}') {
      if (template[index + 1] !== '}')
        return {
          ok: false,
          message: `unmatched } at position ${index + 1} (write }} for a literal brace)`,
        };
      text += '}';
      index++;
      continue;
    }
    if (char !== '{') {
      text += char;
      continue;
    }
    if (template[index + 1] === '{') {
      text += '{';
      index++;
      continue;
    }
    const end = template.indexOf('}', index + 1);
    if (end === -1)
      return {
        ok: false,
        message: `unclosed placeholder at position ${index + 1} (write {{ for a literal brace)`,
      };
    const column = template.slice(index + 1, end);
    if (column === '' || column.includes('{') || column.trim() !== column) {
      return {
        ok: false,
        message: `placeholder {${column}} must name a source column, like {name}`,
      };
    }
    if (text !== '') parts.push(Object.freeze({ kind: 'text', text }));
    text = '';
    parts.push(Object.freeze({ kind: 'column', column }));
    index = end;
  }
  if (text !== '') parts.push(Object.freeze({ kind: 'text', text }));
  return { ok: true, parts: Object.freeze(parts) };
}
