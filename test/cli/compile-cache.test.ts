import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileCacheDir, enableCompileCache } from '../../src/cli/compile-cache.js';

describe('compile cache', () => {
  it('lives under $XDG_CACHE_HOME when set, else under the temp dir', () => {
    expect(compileCacheDir({ XDG_CACHE_HOME: '/home/u/.cache' }, '/tmp')).toBe(
      path.join('/home/u/.cache', 'millrace', 'compile-cache'),
    );
    expect(compileCacheDir({}, '/tmp')).toBe(path.join('/tmp', 'millrace-compile-cache'));
    expect(compileCacheDir({ XDG_CACHE_HOME: '' }, '/tmp')).toBe(
      path.join('/tmp', 'millrace-compile-cache'),
    );
  });

  it('is asked for in that directory where Node has one', () => {
    const asked: (string | undefined)[] = [];
    enableCompileCache(
      {
        enableCompileCache: (directory) => {
          asked.push(directory);
          return { status: 0 };
        },
      },
      { XDG_CACHE_HOME: '/var/cache/x' },
    );
    expect(asked).toEqual([path.join('/var/cache/x', 'millrace', 'compile-cache')]);
  });

  it('is skipped on a Node without one, and a failing one is harmless', () => {
    expect(() => enableCompileCache({}, {})).not.toThrow();
    const failing = {
      enableCompileCache: () => {
        throw new Error('EACCES');
      },
    };
    expect(() => enableCompileCache(failing, {})).not.toThrow();
  });
});
