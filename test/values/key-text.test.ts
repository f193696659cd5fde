import { describe, expect, it } from 'vitest';
import {
  decodeSourceKey,
  decodeTargetKey,
  encodeSourceKey,
  encodeTargetKey,
  rowKeyIdentity,
  sameTargetKey,
  targetKeyIdentity,
  targetKeyRecord,
  targetValueAsText,
  textKeyIdentity,
} from '../../src/values/key-text.js';

describe('key text', () => {
  it('gives a target key one identity whatever JS type carries it', () => {
    expect(targetKeyIdentity([5])).toBe(targetKeyIdentity(['5']));
    expect(targetKeyIdentity([5n, 'a'])).toBe(targetKeyIdentity(['5', 'a']));
    expect(sameTargetKey([5n], ['5'])).toBe(true);
    expect(sameTargetKey([Buffer.from('ab')], [Buffer.from('ab')])).toBe(true);
  });

  it('keeps NULL and Buffers apart from every string', () => {
    expect(targetKeyIdentity([null])).not.toBe(targetKeyIdentity(['null']));
    expect(targetKeyIdentity([Buffer.from('ab')])).not.toBe(targetKeyIdentity(['6162']));
    expect(targetKeyIdentity([Buffer.from('ab')])).not.toBe(targetKeyIdentity(['x6162']));
    expect(sameTargetKey([null], ['null'])).toBe(false);
    expect(sameTargetKey(['1', '2'], ['1'])).toBe(false);
  });

  it('keeps text keys apart whatever characters their parts hold', () => {
    expect(textKeyIdentity(['a\u0001b', 'c'])).not.toBe(textKeyIdentity(['a', 'b\u0001c']));
    expect(textKeyIdentity(['a,b', 'c'])).not.toBe(textKeyIdentity(['a', 'b,c']));
    expect(textKeyIdentity(['17'])).toBe('17');
  });

  it('has no source identity for a key column without text', () => {
    expect(rowKeyIdentity({ id: '7', v: null }, ['id'])).toBe(textKeyIdentity(['7']));
    expect(rowKeyIdentity({ a: '1', b: '2' }, ['a', 'b'])).toBe(textKeyIdentity(['1', '2']));
    expect(rowKeyIdentity({ id: null }, ['id'])).toBeUndefined();
    expect(rowKeyIdentity({ id: '1' }, ['id', 'missing'])).toBeUndefined();
  });

  it('spells stored keys as before', () => {
    const key = [Buffer.from([1, 255]), 12n, 3, 'x', null];
    expect(targetKeyRecord(['b', 'n', 'i', 's', 'z'], key)).toEqual({
      b: '\\x01ff',
      n: '12',
      i: 3,
      s: 'x',
      z: null,
    });
    const encoded = encodeTargetKey(key);
    expect(encoded).toBe('[{"hex":"01ff"},"12",3,"x",null]');
    expect(decodeTargetKey(encoded)).toEqual([Buffer.from([1, 255]), '12', 3, 'x', null]);
    expect(encodeSourceKey(['1', 'a"b'])).toBe('["1","a\\"b"]');
    expect(decodeSourceKey('["1","a\\"b"]')).toEqual(['1', 'a"b']);
    expect(() => decodeSourceKey('[1]')).toThrow('not a source key');
    expect(targetValueAsText(Buffer.from([10]))).toBe('\\x0a');
    expect(targetValueAsText(42n)).toBe('42');
    expect(targetValueAsText(null)).toBeNull();
  });
});
