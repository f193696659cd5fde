import { createRequire } from 'node:module';
import type { Logger as PinoLogger, pino as pinoFactory } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import type { LogLevel } from '../config/options.js';
import { redactText } from '../config/redact.js';

type LogFn = {
  (message: string): void;
  (fields: object, message?: string): void;
};

/** The logging calls millrace makes (pino's, which writes them). */
export interface Logger {
  readonly error: LogFn;
  readonly warn: LogFn;
  readonly info: LogFn;
  readonly debug: LogFn;
  child(bindings: Readonly<Record<string, unknown>>): Logger;
}

interface LoggerOptions {
  readonly level: LogLevel;
  /** Human-readable lines instead of JSON (a terminal, not a log collector). */
  readonly pretty: boolean;
  /** Where lines go; stderr keeps stdout free for reports and `--json` output. */
  readonly destination?: NodeJS.WritableStream;
}

// pino's numbers for its levels, so a line below the level is dropped without loading pino.
const severity: Readonly<Record<LogLevel, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

const require = createRequire(import.meta.url);

/** pino once loaded: at the first line written, or already in the startup snapshot. */
let loadedPino: typeof pinoFactory | undefined;

/**
 * Gives the logger a pino that is already loaded, so that the first line written does not load it
 * from disk: the startup snapshot's (README "CLI start-up"). pino reads its process id and host
 * name as it loads, which a snapshot freezes; millrace's lines carry neither (`base` is unset).
 */
export function usePreloadedPino(pino: typeof pinoFactory): void {
  loadedPino = pino;
}

/**
 * The root logger. Logs go to stderr as JSON (one object per line) or, on a terminal, as
 * readable lines. Error messages pass through redaction because drivers sometimes quote URLs.
 * pino loads at the first line written: a one-shot command that logs nothing (status, mappings
 * check) never pays its start-up cost.
 */
export function createLogger(options: LoggerOptions): Logger {
  return deferred(options.level, () => createPino(options));
}

/** A logger that drops everything: for library use and tests that do not look at logs. */
export function silentLogger(): Logger {
  return deferred('silent', () => {
    throw new Error('a silent logger never writes');
  });
}

/** A logger whose pino instance is built by `build` when a line at an enabled level comes. */
function deferred(level: LogLevel, build: () => PinoLogger): Logger {
  let built: PinoLogger | undefined;
  const target = () => {
    built ??= build();
    return built;
  };
  const method = (name: 'error' | 'warn' | 'info' | 'debug'): LogFn =>
    severity[name] < severity[level]
      ? () => undefined
      : (...args: unknown[]) => {
          const logger = target();
          Reflect.apply(logger[name], logger, args);
        };
  return {
    error: method('error'),
    warn: method('warn'),
    info: method('info'),
    debug: method('debug'),
    child: (bindings) => deferred(level, () => target().child(bindings)),
  };
}

function createPino(options: LoggerOptions): PinoLogger {
  loadedPino ??= (require('pino') as { pino: typeof pinoFactory }).pino;
  const pino = loadedPino;
  const destination = options.destination ?? process.stderr;
  // pino-pretty only loads for a person at a terminal; services log JSON and skip its start-up cost.
  const pretty = options.pretty
    ? (require('pino-pretty') as (options: PrettyOptions) => NodeJS.WritableStream)
    : undefined;
  const stream = pretty
    ? pretty({
        destination,
        sync: true,
        colorize: false,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
      })
    : destination;
  return pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['password', '*.password', 'connection.password'], censor: '***' },
      serializers: {
        // Stack traces are for debugging sessions, not for an operator's log stream.
        err: (error: unknown) => {
          const { stack, ...serialized } = pino.stdSerializers.err(error as Error);
          const withStack = options.level === 'debug' || options.level === 'trace';
          return {
            ...serialized,
            message: redactText(serialized.message),
            ...(withStack ? { stack: redactText(stack ?? '') } : {}),
          };
        },
      },
    },
    stream as Parameters<typeof pinoFactory>[1],
  );
}
