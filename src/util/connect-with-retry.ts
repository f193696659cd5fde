import { redact, redactText } from '../config/redact.js';
import { isOutage } from '../errors/classify-error.js';
import type { ErrorCode } from '../errors/error-codes.js';
import { markError, type Side } from '../errors/error-origin.js';
import { describeError, RuntimeFailure } from '../errors/millrace-error.js';
import type { Logger } from '../log/logger.js';
import { backoffDelay, sleep } from './sleep.js';

interface ConnectAttempt<T> {
  /** Which database, as users call it: "CRM PostgreSQL" or "MES MySQL". */
  readonly what: string;
  /** Which database, as the outage logs name it. */
  readonly side: Side;
  readonly url: string;
  /** The flag and variable that set the URL, for the fix in the message. */
  readonly option: string;
  /** Total time to keep retrying, in milliseconds. */
  readonly timeoutMs: number;
  readonly connect: () => Promise<T>;
  readonly logger: Logger;
  readonly code: ErrorCode;
}

/**
 * A database unreachable when a command starts is retried for the connect timeout,
 * then the command fails with one line naming the database (password redacted) and why.
 */
export async function connectWithRetry<T>(attempt: ConnectAttempt<T>): Promise<T> {
  const deadline = Date.now() + attempt.timeoutMs;
  for (let tries = 0; ; tries++) {
    try {
      return await attempt.connect();
    } catch (error) {
      const remaining = deadline - Date.now();
      // Only an outage (server starting, connection refused) is worth waiting out.
      if (!isOutage(error) || remaining <= 0) {
        const waited = isOutage(error) ? ` after ${Math.round(attempt.timeoutMs / 1000)}s` : '';
        const failure = new RuntimeFailure(
          attempt.code,
          `cannot connect to ${attempt.what} at ${redact(attempt.url)}${waited}: ${redactText(describeError(error))} (check the server and ${attempt.option})`,
          { cause: error },
        );
        throw markError(failure, attempt.side, false);
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
