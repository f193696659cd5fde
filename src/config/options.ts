/**
 * The common options (README "Configuration"): the flag, its environment variable and its
 * default, in one table, so `--help`, the README and the resolver cannot drift apart. Their
 * checks live in option-schemas.ts: `--help` builds from this table without loading zod.
 */
export interface OptionSpec {
  readonly key: string;
  readonly flag: string;
  readonly env: string;
  readonly default: string | undefined;
  readonly description: string;
}

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

export const commonOptions = {
  source: {
    key: 'source',
    flag: '--source <url>',
    env: 'CRM_DATABASE_URL',
    default: 'postgres://postgres@127.0.0.1:5432/crm',
    description: 'CRM PostgreSQL URL',
  },
  target: {
    key: 'target',
    flag: '--target <url>',
    env: 'MES_DATABASE_URL',
    default: 'mysql://root@127.0.0.1:3306/mes',
    description: 'MES MySQL/MariaDB URL',
  },
  mappings: {
    key: 'mappings',
    flag: '--mappings <dir>',
    env: 'MILLRACE_MAPPINGS',
    default: './mappings',
    description: 'directory of mapping YAML files',
  },
  slot: {
    key: 'slot',
    flag: '--slot <name>',
    env: 'MILLRACE_SLOT',
    default: 'millrace',
    description: 'replication slot name',
  },
  publication: {
    key: 'publication',
    flag: '--publication <name>',
    env: 'MILLRACE_PUBLICATION',
    default: 'millrace',
    description: 'publication name',
  },
  metricsPort: {
    key: 'metricsPort',
    flag: '--metrics-port <port>',
    env: 'MILLRACE_METRICS_PORT',
    default: undefined,
    description: 'serve /metrics and /healthz on this port (off when unset)',
  },
  logLevel: {
    key: 'logLevel',
    flag: '--log-level <level>',
    env: 'MILLRACE_LOG_LEVEL',
    default: 'info',
    description: `log level: ${logLevels.join(', ')}`,
  },
  connectTimeout: {
    key: 'connectTimeout',
    flag: '--connect-timeout <seconds>',
    env: 'MILLRACE_CONNECT_TIMEOUT',
    default: '15',
    description: 'how long to retry an unreachable database at start, in seconds',
  },
} as const satisfies Record<string, OptionSpec>;

/** Options that belong to one command but still follow flag > environment > default. */
export const commandOptions = {
  migrations: {
    key: 'migrations',
    flag: '--migrations <dir>',
    env: 'MILLRACE_MIGRATIONS',
    default: './migrations',
    description: 'directory of staging-table knex migrations',
  },
} as const satisfies Record<string, OptionSpec>;
