import type { z } from 'zod';
import { ConfigError } from '../errors/millrace-error.js';
import { optionSchemas } from './option-schemas.js';
import { commandOptions, commonOptions, type LogLevel } from './options.js';
import { redact } from './redact.js';

/** Everything a command needs to know about where things are, resolved once and frozen. */
export interface ResolvedConfig {
  readonly sourceUrl: string;
  readonly targetUrl: string;
  readonly mappingsDir: string;
  readonly slot: string;
  readonly publication: string;
  /** Port for /metrics and /healthz; undefined keeps the server off. */
  readonly metricsPort: number | undefined;
  readonly logLevel: LogLevel;
  /** How long an unreachable database is retried at start, in milliseconds. */
  readonly connectTimeoutMs: number;
  /** Directory of the user's staging-table migrations. */
  readonly migrationsDir: string;
}

export type Flags = Readonly<Record<string, unknown>>;
type Environment = Readonly<Record<string, string | undefined>>;

type OptionKey = keyof typeof optionSchemas;
type OptionValue<K extends OptionKey> = z.output<(typeof optionSchemas)[K]>;

const optionSpecs = { ...commonOptions, ...commandOptions };

function resolveOption<K extends OptionKey>(
  key: K,
  flags: Flags,
  env: Environment,
): OptionValue<K> | undefined {
  const spec = optionSpecs[key];
  const flagValue = flags[spec.key];
  const envValue = env[spec.env];
  const [raw, origin] =
    flagValue !== undefined && flagValue !== ''
      ? [String(flagValue), spec.flag.split(' ')[0]]
      : envValue !== undefined && envValue !== ''
        ? [envValue, spec.env]
        : [spec.default, undefined];
  if (raw === undefined) return undefined;
  const parsed = optionSchemas[key].safeParse(raw);
  if (parsed.success) return parsed.data as OptionValue<K>;
  const flagName = spec.flag.split(' ')[0];
  const problem = parsed.error.issues[0]?.message ?? 'invalid value';
  const shown = /url/i.test(spec.flag) ? redact(raw) : raw;
  throw new ConfigError(
    'CONFIG_INVALID',
    `invalid ${flagName} (${spec.env})${origin === undefined ? ' default' : ''}: ${problem} (got '${shown}')`,
    { context: { option: flagName, env: spec.env } },
  );
}

/** An option with a default always resolves to a value. */
function resolveDefaulted<K extends OptionKey>(
  key: K,
  flags: Flags,
  env: Environment,
): OptionValue<K> {
  return resolveOption(key, flags, env) as OptionValue<K>;
}

/** Flags win over environment variables, which win over the defaults of options.ts. */
export function resolveConfig(flags: Flags, env: Environment = process.env): ResolvedConfig {
  const connectTimeoutSeconds = resolveDefaulted('connectTimeout', flags, env);
  return Object.freeze({
    sourceUrl: resolveDefaulted('source', flags, env),
    targetUrl: resolveDefaulted('target', flags, env),
    mappingsDir: resolveDefaulted('mappings', flags, env),
    slot: resolveDefaulted('slot', flags, env),
    publication: resolveDefaulted('publication', flags, env),
    metricsPort: resolveOption('metricsPort', flags, env),
    logLevel: resolveDefaulted('logLevel', flags, env),
    connectTimeoutMs: Math.round(connectTimeoutSeconds * 1000),
    migrationsDir: resolveDefaulted('migrations', flags, env),
  });
}

/** Whether output goes to a person (progress bars, pretty logs) rather than a log collector. */
export function isInteractive(stream: NodeJS.WriteStream = process.stderr): boolean {
  return stream.isTTY === true && process.env.CI === undefined;
}
