import { z } from 'zod';

/**
 * The common options of DESIGN.md "Command line": the flag, its environment variable and its
 * default, in one table, so `--help`, the README and the resolver cannot drift apart.
 */
export interface OptionSpec<T> {
  readonly key: string;
  readonly flag: string;
  readonly env: string;
  readonly default: string | undefined;
  readonly description: string;
  readonly schema: z.ZodType<T>;
}

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

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export const commonOptions = {
  source: {
    key: 'source',
    flag: '--source <url>',
    env: 'CRM_DATABASE_URL',
    default: 'postgres://postgres@127.0.0.1:5432/crm',
    description: 'CRM PostgreSQL URL',
    schema: sourceUrl,
  },
  target: {
    key: 'target',
    flag: '--target <url>',
    env: 'MES_DATABASE_URL',
    default: 'mysql://root@127.0.0.1:3306/mes',
    description: 'MES MySQL/MariaDB URL',
    schema: targetUrl,
  },
  mappings: {
    key: 'mappings',
    flag: '--mappings <dir>',
    env: 'MILLRACE_MAPPINGS',
    default: './mappings',
    description: 'directory of mapping YAML files',
    schema: z.string().min(1),
  },
  slot: {
    key: 'slot',
    flag: '--slot <name>',
    env: 'MILLRACE_SLOT',
    default: 'millrace',
    description: 'replication slot name',
    schema: identifier,
  },
  publication: {
    key: 'publication',
    flag: '--publication <name>',
    env: 'MILLRACE_PUBLICATION',
    default: 'millrace',
    description: 'publication name',
    schema: identifier,
  },
  metricsPort: {
    key: 'metricsPort',
    flag: '--metrics-port <port>',
    env: 'MILLRACE_METRICS_PORT',
    default: undefined,
    description: 'serve /metrics and /healthz on this port (off when unset)',
    schema: port,
  },
  logLevel: {
    key: 'logLevel',
    flag: '--log-level <level>',
    env: 'MILLRACE_LOG_LEVEL',
    default: 'info',
    description: `log level: ${logLevels.join(', ')}`,
    schema: z.enum(logLevels, { error: `expected one of ${logLevels.join(', ')}` }),
  },
  connectTimeout: {
    key: 'connectTimeout',
    flag: '--connect-timeout <seconds>',
    env: 'MILLRACE_CONNECT_TIMEOUT',
    default: '15',
    description: 'how long to retry an unreachable database at start, in seconds',
    schema: seconds,
  },
} as const satisfies Record<string, OptionSpec<unknown>>;

/** Options that belong to one command but still follow flag > environment > default. */
export const commandOptions = {
  migrations: {
    key: 'migrations',
    flag: '--migrations <dir>',
    env: 'MILLRACE_MIGRATIONS',
    default: './migrations',
    description: 'directory of staging-table knex migrations',
    schema: z.string().min(1),
  },
} as const satisfies Record<string, OptionSpec<unknown>>;
