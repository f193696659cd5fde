import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

/**
 * Preloaded into a CLI process (`--import`) to record every module it loads into the file named
 * by MILLRACE_MODULE_TRACE: ES modules as the loader's hook sees them, CommonJS ones (drivers are)
 * from the require cache at exit. Tests read it with `loadedPackages`.
 */
const file = process.env.MILLRACE_MODULE_TRACE;
if (file) {
  register('./module-trace-hooks.js', import.meta.url, { data: file });
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    appendFileSync(
      file,
      Object.keys(cache)
        .map((name) => `${name}\n`)
        .join(''),
    );
  });
}
