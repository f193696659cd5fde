import * as nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The part of `node:module` this uses: `enableCompileCache` exists from Node 22.8 on (not in 20). */
interface CompileCacheApi {
  readonly enableCompileCache?: (directory?: string) => unknown;
}

/** $XDG_CACHE_HOME/millrace/compile-cache when set, else a directory under the OS temp dir. */
export function compileCacheDir(
  env: Readonly<Record<string, string | undefined>>,
  temp: string = tmpdir(),
): string {
  const cacheHome = env.XDG_CACHE_HOME;
  return cacheHome
    ? path.join(cacheHome, 'millrace', 'compile-cache')
    : path.join(temp, 'millrace-compile-cache');
}

/**
 * Lets Node keep the V8 code of the modules a command loads on disk, so the next start skips
 * compiling them (README "CLI start-up"). Node 20 has no such cache and starts as before; a
 * cache directory that cannot be created or written only means no cache, never a failed command.
 * NODE_COMPILE_CACHE (a cache Node enabled at start) and NODE_DISABLE_COMPILE_CACHE=1 still win.
 */
export function enableCompileCache(
  api: CompileCacheApi = nodeModule as CompileCacheApi,
  env: Readonly<Record<string, string | undefined>> = process.env,
): void {
  if (typeof api.enableCompileCache !== 'function') return;
  try {
    api.enableCompileCache(compileCacheDir(env));
  } catch {
    // Node reports an unusable directory in its return value; anything thrown is treated alike.
  }
}
