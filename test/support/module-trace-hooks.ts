import { appendFileSync } from 'node:fs';
import type { InitializeHook, LoadHook } from 'node:module';

/** Loader hooks of module-trace.ts: each ES module's URL, appended as it loads. */
let file = '';

export const initialize: InitializeHook<string> = (data) => {
  file = data;
};

export const load: LoadHook = (url, context, nextLoad) => {
  appendFileSync(file, `${url}\n`);
  return nextLoad(url, context);
};
