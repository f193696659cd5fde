import { describe, expect, it } from 'vitest';
import { type ResolvedConfig, resolveConfig } from '../../src/config/resolve-config.js';
import { ConfigError, ExitCode } from '../../src/errors/millrace-error.js';

/**
 * One row per option of the README's "Configuration" (plus `migrate --migrations`): the flag key
 * commander produces, its variable, the config field it fills, and the default the README documents.
 * The defaults are written out here, not read from src/config, so a drift from the documented defaults fails.
 */
interface Row {
  readonly key: string;
  readonly env: string;
  readonly field: keyof ResolvedConfig;
  readonly fromFlag: string;
  readonly fromEnv: string;
  /** What the field holds for the raw `fromFlag` / `fromEnv` / default value. */
  readonly expect: (raw: string) => unknown;
  readonly defaultValue: unknown;
}

const same = (raw: string) => raw;

const rows: readonly Row[] = [
  {
    key: 'source',
    env: 'CRM_DATABASE_URL',
    field: 'sourceUrl',
    fromFlag: 'postgres://flag@crm-flag:5432/crm_flag',
    fromEnv: 'postgresql://env@crm-env:5433/crm_env',
    expect: same,
    defaultValue: 'postgres://postgres@127.0.0.1:5432/crm',
  },
  {
    key: 'target',
    env: 'MES_DATABASE_URL',
    field: 'targetUrl',
    fromFlag: 'mysql://flag@mes-flag:3306/mes_flag',
    fromEnv: 'mariadb://env@mes-env:3307/mes_env',
    expect: same,
    defaultValue: 'mysql://root@127.0.0.1:3306/mes',
  },
  {
    key: 'mappings',
    env: 'MILLRACE_MAPPINGS',
    field: 'mappingsDir',
    fromFlag: '/etc/millrace/flag-mappings',
    fromEnv: '/etc/millrace/env-mappings',
    expect: same,
    defaultValue: './mappings',
  },
  {
    key: 'slot',
    env: 'MILLRACE_SLOT',
    field: 'slot',
    fromFlag: 'slot_from_flag',
    fromEnv: 'slot_from_env',
    expect: same,
    defaultValue: 'millrace',
  },
  {
    key: 'publication',
    env: 'MILLRACE_PUBLICATION',
    field: 'publication',
    fromFlag: 'pub_from_flag',
    fromEnv: 'pub_from_env',
    expect: same,
    defaultValue: 'millrace',
  },
  {
    key: 'metricsPort',
    env: 'MILLRACE_METRICS_PORT',
    field: 'metricsPort',
    fromFlag: '9464',
    fromEnv: '9100',
    expect: Number,
    defaultValue: undefined,
  },
  {
    key: 'logLevel',
    env: 'MILLRACE_LOG_LEVEL',
    field: 'logLevel',
    fromFlag: 'debug',
    fromEnv: 'warn',
    expect: same,
    defaultValue: 'info',
  },
  {
    key: 'connectTimeout',
    env: 'MILLRACE_CONNECT_TIMEOUT',
    field: 'connectTimeoutMs',
    fromFlag: '2.5',
    fromEnv: '40',
    expect: (raw) => Number(raw) * 1000,
    defaultValue: 15_000,
  },
  {
    key: 'migrations',
    env: 'MILLRACE_MIGRATIONS',
    field: 'migrationsDir',
    fromFlag: '/srv/mes/flag-migrations',
    fromEnv: '/srv/mes/env-migrations',
    expect: same,
    defaultValue: './migrations',
  },
];

describe('resolveConfig precedence', () => {
  it.each(rows)('--$key beats $env, which beats the default', (row) => {
    expect(
      resolveConfig({ [row.key]: row.fromFlag }, { [row.env]: row.fromEnv })[row.field],
    ).toEqual(row.expect(row.fromFlag));
    expect(resolveConfig({}, { [row.env]: row.fromEnv })[row.field]).toEqual(
      row.expect(row.fromEnv),
    );
    expect(resolveConfig({}, {})[row.field]).toEqual(row.defaultValue);
  });

  it.each(rows)('an empty $env counts as unset', (row) => {
    expect(resolveConfig({}, { [row.env]: '' })[row.field]).toEqual(row.defaultValue);
  });

  it('reads only the variables it is given, not process.env', () => {
    const saved = process.env.MILLRACE_SLOT;
    process.env.MILLRACE_SLOT = 'from_process_env';
    try {
      expect(resolveConfig({}, {}).slot).toBe('millrace');
    } finally {
      if (saved === undefined) delete process.env.MILLRACE_SLOT;
      else process.env.MILLRACE_SLOT = saved;
    }
  });

  it('returns a frozen config', () => {
    const config = resolveConfig({}, {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { slot: string }).slot = 'other';
    }).toThrow(TypeError);
    expect(config.slot).toBe('millrace');
  });
});

/** Catches the ConfigError resolveConfig throws, failing the test when it does not throw. */
function configError(
  flags: Record<string, unknown>,
  env: Record<string, string> = {},
): ConfigError {
  try {
    resolveConfig(flags, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`resolveConfig accepted ${JSON.stringify({ flags, env })}`);
}

interface Malformed {
  readonly what: string;
  readonly key: string;
  readonly flag: string;
  readonly env: string;
  readonly value: string;
}

const password = 'pa55-w0rd';

const malformed: readonly Malformed[] = [
  {
    what: 'not a URL',
    key: 'source',
    flag: '--source',
    env: 'CRM_DATABASE_URL',
    value: 'crm-db:5432',
  },
  {
    what: 'a MySQL URL as source',
    key: 'source',
    flag: '--source',
    env: 'CRM_DATABASE_URL',
    value: `mysql://root:${password}@127.0.0.1:3306/crm`,
  },
  {
    what: 'a source URL without database',
    key: 'source',
    flag: '--source',
    env: 'CRM_DATABASE_URL',
    value: `postgres://postgres:${password}@127.0.0.1:5432`,
  },
  {
    what: 'a source URL with a bad port',
    key: 'source',
    flag: '--source',
    env: 'CRM_DATABASE_URL',
    value: `postgres://postgres:${password}@127.0.0.1:54x2/crm`,
  },
  {
    what: 'not a URL',
    key: 'target',
    flag: '--target',
    env: 'MES_DATABASE_URL',
    value: 'not a url',
  },
  {
    what: 'a PostgreSQL URL as target',
    key: 'target',
    flag: '--target',
    env: 'MES_DATABASE_URL',
    value: `postgres://root:${password}@127.0.0.1:5432/mes`,
  },
  {
    what: 'a target URL without database',
    key: 'target',
    flag: '--target',
    env: 'MES_DATABASE_URL',
    value: `mysql://root:${password}@127.0.0.1:3306/`,
  },
  {
    what: 'a target URL whose database MySQL cannot name',
    key: 'target',
    flag: '--target',
    env: 'MES_DATABASE_URL',
    value: `mysql://root:${password}@127.0.0.1:3306/mes/extra`,
  },
  {
    what: 'a target URL without host',
    key: 'target',
    flag: '--target',
    env: 'MES_DATABASE_URL',
    value: `mysql:///mes?password=${password}`,
  },
  {
    what: 'a slot with upper case',
    key: 'slot',
    flag: '--slot',
    env: 'MILLRACE_SLOT',
    value: 'Millrace',
  },
  {
    what: 'a slot with a dash',
    key: 'slot',
    flag: '--slot',
    env: 'MILLRACE_SLOT',
    value: 'mill-race',
  },
  {
    what: 'a slot too long',
    key: 'slot',
    flag: '--slot',
    env: 'MILLRACE_SLOT',
    value: 's'.repeat(64),
  },
  {
    what: 'a publication with a space',
    key: 'publication',
    flag: '--publication',
    env: 'MILLRACE_PUBLICATION',
    value: 'mill race',
  },
  {
    what: 'a port out of range',
    key: 'metricsPort',
    flag: '--metrics-port',
    env: 'MILLRACE_METRICS_PORT',
    value: '70000',
  },
  {
    what: 'port zero',
    key: 'metricsPort',
    flag: '--metrics-port',
    env: 'MILLRACE_METRICS_PORT',
    value: '0',
  },
  {
    what: 'a port that is not a number',
    key: 'metricsPort',
    flag: '--metrics-port',
    env: 'MILLRACE_METRICS_PORT',
    value: 'http',
  },
  {
    what: 'a fractional port',
    key: 'metricsPort',
    flag: '--metrics-port',
    env: 'MILLRACE_METRICS_PORT',
    value: '80.5',
  },
  {
    what: 'an unknown level',
    key: 'logLevel',
    flag: '--log-level',
    env: 'MILLRACE_LOG_LEVEL',
    value: 'loud',
  },
  {
    what: 'a negative timeout',
    key: 'connectTimeout',
    flag: '--connect-timeout',
    env: 'MILLRACE_CONNECT_TIMEOUT',
    value: '-1',
  },
  {
    what: 'a zero timeout',
    key: 'connectTimeout',
    flag: '--connect-timeout',
    env: 'MILLRACE_CONNECT_TIMEOUT',
    value: '0',
  },
  {
    what: 'a timeout with a unit',
    key: 'connectTimeout',
    flag: '--connect-timeout',
    env: 'MILLRACE_CONNECT_TIMEOUT',
    value: '15s',
  },
];

describe('resolveConfig errors', () => {
  describe.each(malformed)('$flag given $what', (row) => {
    function check(error: ConfigError): void {
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.exitCode).toBe(ExitCode.usage);
      expect(error.exitCode).toBe(2);
      expect(error.message).toContain(row.flag);
      expect(error.message).toContain(row.env);
      expect(error.message).not.toContain(password);
      expect(error.message).not.toContain('\n');
      expect(error.context).toMatchObject({ option: row.flag, env: row.env });
    }

    it('from the flag', () => {
      check(configError({ [row.key]: row.value }));
    });

    it('from the environment', () => {
      check(configError({}, { [row.env]: row.value }));
    });
  });

  it('judges the flag, not the environment variable it overrides', () => {
    expect(resolveConfig({ slot: 'good_slot' }, { MILLRACE_SLOT: 'Bad-Slot' }).slot).toBe(
      'good_slot',
    );
    expect(configError({ slot: 'Bad-Slot' }, { MILLRACE_SLOT: 'good_slot' }).message).toContain(
      'Bad-Slot',
    );
  });

  it('shows a bad URL with its password redacted, so the user can still spot the mistake', () => {
    const error = configError({ target: `mysql://root:${password}@mes-db:3306/` });
    expect(error.message).toContain('mysql://root:***@mes-db:3306/');
    expect(error.message).not.toContain(password);
  });

  it('hides a password even in a URL it cannot parse', () => {
    const error = configError({}, { CRM_DATABASE_URL: `postgres://app:${password}@db:port/crm` });
    expect(error.message).toContain('CRM_DATABASE_URL');
    expect(error.message).not.toContain(password);
  });

  it('hides a password with a raw @ in a URL it cannot parse', () => {
    const error = configError({ source: 'postgres://app:p@ss-tail@db:port/crm' });
    expect(error.message).not.toContain('p@ss');
    expect(error.message).not.toContain('ss-tail');
  });

  it('hides the password of a URL written without its scheme', () => {
    const error = configError({ target: `root:${password}@mes-db:3306/mes` });
    expect(error.message).toContain('--target');
    expect(error.message).not.toContain(password);
  });

  it('hides an encoded password in a URL it cannot parse', () => {
    const error = configError({ source: 'postgres://app:p%40ss%2Fw0rd@db:port/crm' });
    expect(error.message).not.toContain('p%40ss');
    expect(error.message).not.toContain('w0rd');
  });
});
