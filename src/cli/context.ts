import type { Command } from 'commander';
import {
  type Flags,
  isInteractive,
  type ResolvedConfig,
  resolveConfig,
} from '../config/resolve-config.js';
import { createLogger, type Logger } from '../log/logger.js';

/** What every command runs with: the resolved configuration and the root logger. */
export interface CommandContext {
  readonly config: ResolvedConfig;
  readonly logger: Logger;
  /** Prints command output (reports, tables, JSON) to stdout. */
  readonly print: (text: string) => void;
}

export function createContext(command: Command): CommandContext {
  const config = resolveConfig(command.optsWithGlobals() as Flags);
  const logger = createLogger({ level: config.logLevel, pretty: isInteractive() });
  return Object.freeze({
    config,
    logger,
    print: (text: string) => {
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
  });
}
