import type { Command } from 'commander';
import { commonOptions } from '../config/options.js';
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

/** Adds the common options of DESIGN.md to a command; the variable and default show in --help. */
export function addCommonOptions(command: Command): Command {
  for (const spec of Object.values(commonOptions)) {
    const suffix =
      spec.default === undefined
        ? `[env ${spec.env}]`
        : `[env ${spec.env}, default ${spec.default}]`;
    command.option(spec.flag, `${spec.description} ${suffix}`);
  }
  return command;
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

/** Whether stack traces were asked for, readable even when configuration itself failed. */
export function wantsDebug(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  const index = argv.findIndex((arg) => arg === '--log-level' || arg.startsWith('--log-level='));
  const fromFlag =
    index === -1
      ? undefined
      : argv[index]!.includes('=')
        ? argv[index]!.split('=')[1]
        : argv[index + 1];
  const level = fromFlag ?? env.MILLRACE_LOG_LEVEL;
  return level === 'debug' || level === 'trace';
}
