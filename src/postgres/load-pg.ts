type Pg = typeof import('pg')['default'];

let loading: Promise<Pg> | undefined;

/**
 * The `pg` driver, imported on first use. On Node 20, pg decides whether it runs in a Cloudflare
 * Worker by constructing a fetch `Response` when `navigator` is missing, and that one probe loads
 * Node's whole fetch implementation (about 40 ms of CPU, more than pg itself) into every command
 * that talks to the CRM. Node 21 and later define `navigator`, so pg reads it and moves on; while
 * pg loads, Node 20 is shown the same `navigator` those versions have, and nothing else.
 */
export function loadPg(): Promise<Pg> {
  loading ??= importWithNavigator();
  return loading;
}

async function importWithNavigator(): Promise<Pg> {
  if ('navigator' in globalThis) return (await import('pg')).default;
  const major = process.versions.node.split('.')[0];
  Object.defineProperty(globalThis, 'navigator', {
    value: Object.freeze({ userAgent: `Node.js/${major}` }),
    configurable: true,
  });
  try {
    return (await import('pg')).default;
  } finally {
    Reflect.deleteProperty(globalThis, 'navigator');
  }
}
