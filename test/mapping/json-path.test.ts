import { describe, expect, it } from 'vitest';
import { JsonTextError, jsonPathText } from '../../src/mapping/json-path.js';

describe('jsonPathText', () => {
  const doc =
    '{"a": {"b": [10, {"c": "x\\"y"}, null], "n": 12345678901234567890.123, "t": true}, "s": "\\u00e9\\ud83d\\ude00", "e": {}}';

  it('walks keys and array indexes', () => {
    expect(jsonPathText(doc, ['a', 'b', '0'])).toBe('10');
    expect(jsonPathText(doc, ['a', 'b', '1', 'c'])).toBe('x"y');
    expect(jsonPathText(doc, ['s'])).toBe('é😀');
    expect(jsonPathText(doc, ['a', 't'])).toBe('true');
  });

  it('keeps every digit of numbers and returns objects and arrays as JSON text', () => {
    expect(jsonPathText(doc, ['a', 'n'])).toBe('12345678901234567890.123');
    expect(jsonPathText(doc, ['a', 'b', '1'])).toBe('{"c": "x\\"y"}');
    expect(jsonPathText(doc, ['e'])).toBe('{}');
  });

  it('treats missing paths and JSON null alike (the default applies)', () => {
    expect(jsonPathText(doc, ['a', 'b', '2'])).toBeUndefined();
    expect(jsonPathText(doc, ['a', 'b', '3'])).toBeUndefined();
    expect(jsonPathText(doc, ['a', 'b', 'x'])).toBeUndefined();
    expect(jsonPathText(doc, ['s', 'x'])).toBeUndefined();
    expect(jsonPathText(doc, ['zz'])).toBeUndefined();
    expect(jsonPathText('[]', ['0'])).toBeUndefined();
    expect(jsonPathText('null', ['a'])).toBeUndefined();
  });

  it('takes the last of repeated keys (json keeps them, jsonb keeps the last)', () => {
    expect(jsonPathText('{"k": 1, "k": 2}', ['k'])).toBe('2');
  });

  it('matches keys written with escapes and skips strings holding brackets', () => {
    expect(jsonPathText('{"x": "}]{[", "k\\u0065y": {"v": "ok"}}', ['key', 'v'])).toBe('ok');
  });

  it('throws JsonTextError for text that is not JSON', () => {
    expect(() => jsonPathText('{"a": ', ['a'])).toThrow(JsonTextError);
    expect(() => jsonPathText('{"a" 1}', ['a'])).toThrow(JsonTextError);
  });
});
