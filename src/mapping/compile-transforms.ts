import type { Transform } from './mapping-spec.js';

/** The first `length` characters (code points, as MySQL counts them): never half a surrogate pair. */
function truncateCharacters(text: string, length: number): string {
  // UTF-16 length is at least the code point count: short strings need no walk.
  if (text.length <= length) return text;
  let units = 0;
  for (let count = 0; count < length && units < text.length; count++) {
    const code = text.charCodeAt(units);
    units += code >= 0xd800 && code <= 0xdbff && units + 1 < text.length ? 2 : 1;
  }
  return text.slice(0, units);
}

function compileOne(transform: Transform): (text: string) => string {
  switch (transform.kind) {
    case 'trim':
      return (text) => text.trim();
    case 'upper':
      return (text) => text.toUpperCase();
    case 'lower':
      return (text) => text.toLowerCase();
    case 'truncate': {
      const { length } = transform;
      return (text) => truncateCharacters(text, length);
    }
  }
}

/**
 * The transforms of a rule as one function, applied in YAML order. Upper/lower case are
 * locale-independent (a German ß becomes SS wherever millrace runs).
 */
export function compileTransforms(
  transforms: readonly Transform[],
): ((text: string) => string) | undefined {
  const steps = transforms.map(compileOne);
  if (steps.length === 0) return undefined;
  if (steps.length === 1) return steps[0];
  return (text) => {
    let value = text;
    for (const step of steps) value = step(value);
    return value;
  };
}
