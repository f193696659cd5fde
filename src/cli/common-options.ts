import type { Command } from 'commander';
import { commonOptions, type OptionSpec } from '../config/options.js';

/**
 * Adds an option that resolves flag > environment > default in src/config; its variable and
 * default show in --help.
 */
export function addConfigOption(command: Command, spec: OptionSpec): Command {
  const suffix =
    spec.default === undefined ? `[env ${spec.env}]` : `[env ${spec.env}, default ${spec.default}]`;
  return command.option(spec.flag, `${spec.description} ${suffix}`);
}

/** The options every command shares, declared once on the root. */
export function addCommonOptions(command: Command): Command {
  for (const spec of Object.values(commonOptions)) addConfigOption(command, spec);
  return command;
}
