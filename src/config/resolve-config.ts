import { ConfigError } from '../errors/millrace-error.js';
import { commandOptions, commonOptions, type LogLevel, type OptionSpec } from './options.js';
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
export type Environment = Readonly<Record<string, string | undefined>>;

function resolveOption<T>(spec: OptionSpec<T>, flags: Flags, env: Environment): T | undefined {
  const flagValue = flags[spec.key];
  const envValue = env[spec.env];
  const [raw, origin] =
    flagValue !== undefined && flagValue !== ''
      ? [String(flagValue), spec.flag.split(' ')[0]]
      : envValue !== undefined && envValue !== ''
        ? [envValue, spec.env]
        : [spec.default, undefined];
  if (raw === undefined) return undefined;
  const parsed = spec.schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const flagName = spec.flag.split(' ')[0];
  const problem = parsed.error.issues[0]?.message ?? 'invalid value';
  const shown = /url/i.test(spec.flag) ? redact(raw) : raw;
  throw new ConfigError(
    'CONFIG_INVALID',
    `invalid ${flagName} (${spec.env})${origin === undefined ? ' default' : ''}: ${problem} (got '${shown}')`,
    { context: { option: flagName, env: spec.env } },
  );
}

/** Flags win over environment variables, which win over the defaults of DESIGN.md. */
export function resolveConfig(flags: Flags, env: Environment = process.env): ResolvedConfig {
  const connectTimeoutSeconds = resolveOption(commonOptions.connectTimeout, flags, env) as number;
  return Object.freeze({
    sourceUrl: resolveOption(commonOptions.source, flags, env) as string,
    targetUrl: resolveOption(commonOptions.target, flags, env) as string,
    mappingsDir: resolveOption(commonOptions.mappings, flags, env) as string,
    slot: resolveOption(commonOptions.slot, flags, env) as string,
    publication: resolveOption(commonOptions.publication, flags, env) as string,
    metricsPort: resolveOption(commonOptions.metricsPort, flags, env),
    logLevel: resolveOption(commonOptions.logLevel, flags, env) as LogLevel,
    connectTimeoutMs: Math.round(connectTimeoutSeconds * 1000),
    migrationsDir: resolveOption(commandOptions.migrations, flags, env) as string,
  });
}

/** Whether output goes to a person (progress bars, pretty logs) rather than a log collector. */
export function isInteractive(stream: NodeJS.WriteStream = process.stderr): boolean {
  return stream.isTTY === true && process.env.CI === undefined;
}
