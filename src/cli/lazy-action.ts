import type { Command } from 'commander';

type Action<Options> = (options: Options, command: Command) => Promise<void>;

/**
 * An action whose module is imported only when its command runs: `--help`, and every other
 * command, never load the drivers it needs (pg, mysql2, knex, prom-client…).
 */
export function lazyAction<Options>(load: () => Promise<Action<Options>>): Action<Options> {
  return async (options, command) => (await load())(options, command);
}
