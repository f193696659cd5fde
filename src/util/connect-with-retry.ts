import { redact, redactText } from '../config/redact.js';
import { describeError, RuntimeFailure } from '../errors/millrace-error.js';
import type { Logger } from '../log/logger.js';
import { backoffDelay, sleep } from './sleep.js';

export interface ConnectAttempt<T> {
  /** Which database, as users call it: "CRM PostgreSQL" or "MES MySQL". */
  readonly what: string;
  readonly url: string;
  /** The flag and variable that set the URL, for the fix in the message. */
  readonly option: string;
  /** Total time to keep retrying, in milliseconds. */
  readonly timeoutMs: number;
  readonly connect: () => Promise<T>;
  /** Errors worth waiting out (server starting, connection refused); others fail at once. */
  readonly isRetryable: (error: unknown) => boolean;
  readonly logger: Logger;
  readonly code: string;
}

/**
 * DESIGN.md: a database unreachable when a command starts is retried for the connect timeout,
 * then the command fails with one line naming the database (password redacted) and why.
 */
export async function connectWithRetry<T>(attempt: ConnectAttempt<T>): Promise<T> {
  const deadline = Date.now() + attempt.timeoutMs;
  for (let tries = 0; ; tries++) {
    try {
      return await attempt.connect();
    } catch (error) {
      const remaining = deadline - Date.now();
      if (!attempt.isRetryable(error) || remaining <= 0) {
        const waited = attempt.isRetryable(error)
          ? ` after ${Math.round(attempt.timeoutMs / 1000)}s`
          : '';
        throw new RuntimeFailure(
          attempt.code,
          `cannot connect to ${attempt.what} at ${redact(attempt.url)}${waited}: ${redactText(describeError(error))} (check the server and ${attempt.option})`,
          { cause: error },
        );
      }
      if (tries === 0) {
        attempt.logger.warn(
          {
            database: attempt.what,
            url: redact(attempt.url),
            error: redactText(describeError(error)),
            retryForSeconds: Math.round(attempt.timeoutMs / 1000),
          },
          'database unreachable, retrying',
        );
      }
      await sleep(Math.min(remaining, backoffDelay(tries, 200, 2_000)));
    }
  }
}

const retryableNetworkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
]);

/** A network-level failure: the server may come back. */
export function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && retryableNetworkCodes.has(code)) return true;
  const message = describeError(error);
  return /Connection terminated|connect ETIMEDOUT|timeout expired|socket hang up/i.test(message);
}
