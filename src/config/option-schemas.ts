import { z } from 'zod';
import { type commandOptions, type commonOptions, logLevels } from './options.js';

/**
 * How each option of options.ts is checked, kept apart from that table so `--help` never loads
 * zod: only resolving a command's configuration does.
 */

const identifier = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected lower-case letters, digits and _ (at most 63)');

/** A database URL of one of `protocols` that names a database accepted by `databaseOk`. */
function databaseUrl(
  protocols: readonly string[],
  example: string,
  databaseOk: (name: string) => boolean,
) {
  return z.string().superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected a URL like ${example}` });
      return;
    }
    if (!protocols.includes(url.protocol) || url.hostname === '') {
      ctx.addIssue({
        code: 'custom',
        message: `expected a ${protocols.join(' or ')} URL like ${example}`,
      });
    } else if (!databaseOk(decodeURIComponent(url.pathname.replace(/^\//, '')))) {
      ctx.addIssue({ code: 'custom', message: `the URL must name a database, like ${example}` });
    }
  });
}

const sourceUrl = databaseUrl(
  ['postgres:', 'postgresql:'],
  'postgres://postgres@127.0.0.1:5432/crm',
  (name) => name !== '',
);
const targetUrl = databaseUrl(['mysql:', 'mariadb:'], 'mysql://root@127.0.0.1:3306/mes', (name) =>
  /^[A-Za-z0-9_$]{1,64}$/.test(name),
);

const secondsMessage = 'expected a positive number of seconds, like 15';
const seconds = z.coerce.number({ error: secondsMessage }).positive(secondsMessage);
const portMessage = 'expected a port between 1 and 65535';
const port = z.coerce
  .number({ error: portMessage })
  .int(portMessage)
  .min(1, portMessage)
  .max(65535, portMessage);

const directory = z.string().min(1);

export const optionSchemas = {
  source: sourceUrl,
  target: targetUrl,
  mappings: directory,
  slot: identifier,
  publication: identifier,
  metricsPort: port,
  logLevel: z.enum(logLevels, { error: `expected one of ${logLevels.join(', ')}` }),
  connectTimeout: seconds,
  migrations: directory,
} as const satisfies Record<keyof typeof commonOptions | keyof typeof commandOptions, z.ZodType>;
