import { createRequire } from 'node:module';
import { type Logger, pino } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import type { LogLevel } from '../config/options.js';
import { redactText } from '../config/redact.js';

export type { Logger } from 'pino';

interface LoggerOptions {
  readonly level: LogLevel;
  /** Human-readable lines instead of JSON (a terminal, not a log collector). */
  readonly pretty: boolean;
  /** Where lines go; stderr keeps stdout free for reports and `--json` output. */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * The root logger. Logs go to stderr as JSON (one object per line) or, on a terminal, as
 * readable lines. Error messages pass through redaction because drivers sometimes quote URLs.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stderr;
  // pino-pretty only loads for a person at a terminal; services log JSON and skip its start-up cost.
  const pretty = options.pretty
    ? (createRequire(import.meta.url)('pino-pretty') as (
        options: PrettyOptions,
      ) => NodeJS.WritableStream)
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
    stream as pino.DestinationStream,
  );
}

/** A logger that drops everything: for library use and tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
