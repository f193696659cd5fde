import { connectTarget, type MysqlConnection } from '../mysql/mysql-client.js';
import { connectSource, type PgClient } from '../postgres/pg-client.js';
import type { Releasers } from '../util/releasers.js';
import type { CommandContext } from './context.js';

/**
 * Connections a command opens on the configured databases, each ended with the command's other
 * resources (an end that fails is ignored: the command's outcome is already decided).
 */

/** A CRM session named after the command in pg_stat_activity. */
export async function holdSource(
  releasers: Releasers,
  { config, logger }: CommandContext,
  command: string,
): Promise<PgClient> {
  const client = await connectSource({
    url: config.sourceUrl,
    timeoutMs: config.connectTimeoutMs,
    logger,
    applicationName: `millrace ${command}`,
  });
  return releasers.hold(client, (held) => held.end());
}

export async function holdTarget(
  releasers: Releasers,
  { config, logger }: CommandContext,
): Promise<MysqlConnection> {
  const connection = await connectTarget({
    url: config.targetUrl,
    timeoutMs: config.connectTimeoutMs,
    logger,
  });
  return releasers.hold(connection, (held) => held.end());
}
