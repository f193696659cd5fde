import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

/**
 * Preloaded into a CLI process (`--import`) to record every module it loads into the file named
 * by MILLRACE_MODULE_TRACE: ES modules as the loader's hook sees them, CommonJS ones (drivers are)
 * from the require cache at exit. Tests read it with `loadedPackages`.
 */
const file = process.env.MILLRACE_MODULE_TRACE;

/**
 * Node's fetch classes are globals that load the whole fetch implementation when first read:
 * each read is recorded as `global:<name>`, since no module file shows that cost.
 */
function traceFetchGlobals(trace: string): void {
  for (const name of ['Response', 'Request', 'Headers', 'FormData']) {
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, name);
    const get = descriptor?.get;
    if (!descriptor || !get) continue;
    Object.defineProperty(globalThis, name, {
      ...descriptor,
      get() {
        appendFileSync(trace, `global:${name}\n`);
        return get.call(this);
      },
    });
  }
}

if (file) {
  register('./module-trace-hooks.js', import.meta.url, { data: file });
  traceFetchGlobals(file);
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
