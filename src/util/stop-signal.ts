import type { Logger } from '../log/logger.js';

interface StopSignalOptions {
  readonly logger: Logger;
  /** Logged when the first signal arrives: what the command does before it exits. */
  readonly stopping: string;
  /**
   * After the first signal, exit with status 3 if the command has not finished by then, in
   * milliseconds; without it the command takes the time it needs (a chunk being written).
   */
  readonly deadlineMs?: number;
}

/**
 * SIGTERM/SIGINT as an AbortSignal: the first one asks the command to finish what it holds and
 * stop; an unref'd watchdog exits if that takes longer than the deadline, so a hung shutdown
 * never outlives its supervisor's patience. `dispose` removes the handlers.
 */
export function listenForStop(options: StopSignalOptions): {
  readonly signal: AbortSignal;
  dispose(): void;
} {
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    options.logger.info({ signal }, options.stopping);
    controller.abort();
    const { deadlineMs } = options;
    if (deadlineMs === undefined) return;
    setTimeout(() => {
      options.logger.error(
        `graceful stop took longer than ${deadlineMs / 1000} s; exiting without it`,
      );
      process.exit(3);
    }, deadlineMs).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    },
  };
}
