/**
 * The labels of an ENUM or SET type as INFORMATION_SCHEMA declares it: `enum('a','b,c','it''s')`
 * gives `a`, `b,c`, `it's`. A label is quoted; a quote inside is doubled, and a backslash
 * escapes the next character.
 */
export function enumLabels(declaredType: string): string[] {
  const labels: string[] = [];
  let at = declaredType.indexOf('(') + 1;
  while (at > 0 && at < declaredType.length) {
    const quote = declaredType[at];
    if (quote !== "'" && quote !== '"') break;
    let label = '';
    at++;
    while (at < declaredType.length) {
      const char = declaredType[at] as string;
      if (char === '\\' && at + 1 < declaredType.length) {
        label += declaredType[at + 1];
        at += 2;
      } else if (char === quote && declaredType[at + 1] === quote) {
        label += quote;
        at += 2;
      } else if (char === quote) {
        at++;
        break;
      } else {
        label += char;
        at++;
      }
    }
    labels.push(label);
    if (declaredType[at] !== ',') break;
    at++;
  }
  return labels;
}
