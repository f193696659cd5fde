import type { Command } from 'commander';
import { redact } from '../../config/redact.js';
import { RuntimeFailure } from '../../errors/millrace-error.js';
import { loadMappings } from '../../mapping/load-mappings.js';
import { binlogEnd, listBinlogFiles } from '../../mysql/binlog/binlog-files.js';
import { checkBinlogSetup } from '../../mysql/binlog/binlog-setup-check.js';
import type { MysqlConnection } from '../../mysql/mysql-client.js';
import type { PgClient } from '../../postgres/pg-client.js';
import { type SetupReport, setupReplication } from '../../postgres/setup/setup-replication.js';
import {
  loadCrmCheckpoint,
  recordStartCheckpoint,
} from '../../postgres/sink/crm-checkpoint-store.js';
import { rowsOf } from '../../postgres/sql-client.js';
import { tableLabel } from '../../postgres/table-name.js';
import { withReleasers } from '../../util/releasers.js';
import { holdSource, holdTarget } from '../command-connections.js';
import { createContext } from '../context.js';

export async function executeSetup(_options: unknown, command: Command): Promise<void> {
  const context = createContext(command);
  const { config, logger, print } = context;
  // Mappings first: a bad mapping is a usage error and needs no database.
  const specs = loadMappings(config.mappingsDir);
  const returning = loadMappings(config.mappingsDir, 'to-crm');
  await withReleasers(async (releasers) => {
    const client = await holdSource(releasers, context, 'setup');
    if (returning.length > 0) {
      const mes = await holdTarget(releasers, context);
      print(await checkReturnPath(client, mes, config.targetUrl));
      print(await recordReturnStart(client, mes, config.slot));
      if (specs.length === 0) return;
    }
    const report = await setupReplication({
      client,
      publication: config.publication,
      slot: config.slot,
      tables: specs.map((spec) => spec.source),
      mappings: specs,
    });
    logger.debug({ publication: report.publication, slot: report.slot }, 'setup done');
    print(describeSetup(report, redact(config.sourceUrl)));
  });
}

/**
 * The return path's needs: the MES binary log as a replica reads it, and on the CRM the right
 * to tag the sink's writes with a replication origin (no echo). Any gap fails setup (exit 3)
 * with one line per fix.
 */
async function checkReturnPath(
  client: PgClient,
  mes: MysqlConnection,
  targetUrl: string,
): Promise<string> {
  const problems = (await checkBinlogSetup(mes)).map((problem) => problem.message);
  const [origin] = await rowsOf<{ allowed: boolean }>(
    client,
    "SELECT has_function_privilege('pg_replication_origin_session_setup(text)', 'execute') AS allowed",
  );
  if (!origin?.allowed) {
    problems.push(
      'the CRM role may not tag its writes with a replication origin (no echo): run GRANT EXECUTE ON FUNCTION pg_replication_origin_create(text), pg_replication_origin_session_setup(text), pg_replication_origin_session_reset() TO <role> as a superuser',
    );
  }
  if (problems.length > 0) {
    throw new RuntimeFailure(
      'BINLOG_SETUP',
      `the return path (to-crm mappings) cannot run: ${problems.join('; ')}`,
    );
  }
  return `MES ${redact(targetUrl)}: binary log on (ROW format, FULL row image), replica privileges present; CRM role may set a replication origin`;
}

/**
 * The return stream's counterpart of creating the slot: a stream that never committed starts at
 * the binlog's end as of now, not as of its first `run`, so nothing the MES writes between a
 * backfill's reads and that run is lost. A stream with a checkpoint keeps it.
 */
async function recordReturnStart(
  client: PgClient,
  mes: MysqlConnection,
  stream: string,
): Promise<string> {
  const files = await listBinlogFiles(mes);
  const end = binlogEnd(files);
  const newest = files.at(-1)!;
  const place = { file: newest.name, position: BigInt(newest.size) };
  if (await recordStartCheckpoint(client, stream, end, place)) {
    return `return stream ${stream} starts at ${newest.name}:${newest.size} (millrace.checkpoints)`;
  }
  const checkpoint = await loadCrmCheckpoint(client, stream);
  return `return stream ${stream} resumes at its checkpoint ${checkpoint.binlogFile ?? '?'}:${checkpoint.binlogPosition ?? '?'}`;
}

/** What setup found, created or added, one fact per line. */
function describeSetup(report: SetupReport, source: string): string {
  const { publication, slot, role } = report;
  const lines: string[] = [];
  const rights = role.superuser
    ? 'a superuser'
    : 'with REPLICATION and SELECT on the mapped tables';
  lines.push(`CRM ${source}: wal_level is logical, role ${role.role} is ${rights}`);
  for (const relation of report.relations) {
    if (relation.kind === 'p') {
      lines.push(
        `${tableLabel(relation)} is partitioned (${relation.leaves.length} partition${relation.leaves.length === 1 ? '' : 's'}): published through its root`,
      );
    }
  }
  lines.push(...describeIdentities(report));
  const name = `publication ${publication.name}`;
  if (publication.created) {
    lines.push(`created ${name} for ${list(publication.present)} (publish_via_partition_root)`);
  } else if (publication.allTables) {
    lines.push(`${name} exists and publishes all tables`);
  } else {
    if (publication.added.length > 0) lines.push(`added ${list(publication.added)} to ${name}`);
    if (publication.present.length > 0)
      lines.push(`${name} already publishes ${list(publication.present)}`);
  }
  if (publication.unrestricted.length > 0) {
    lines.push(
      `removed row filters / column lists on ${list(publication.unrestricted)} from ${name}`,
    );
  }
  if (publication.optionsSet) {
    lines.push(`set ${name} to publish insert, update, delete, truncate via partition root`);
  }
  if (publication.unmapped.length > 0) {
    lines.push(
      `${name} also publishes ${list(publication.unmapped)}, which no mapping reads (left in place)`,
    );
  }
  if (slot.created) {
    lines.push(`created replication slot ${slot.name} (pgoutput) at ${slot.lsn ?? 'unknown LSN'}`);
    lines.push('next: millrace backfill to copy existing rows, then millrace run');
  } else {
    lines.push(
      `replication slot ${slot.name} (pgoutput) exists, confirmed up to ${slot.lsn ?? 'nothing yet'}`,
    );
  }
  return lines.join('\n');
}

/** Why each table needs REPLICA IDENTITY FULL, and whether setup set it now. */
function describeIdentities(report: SetupReport): string[] {
  return report.identities.map(({ table, reasons, altered }) => {
    const why = `${reasons.join('; ')}: a row entering the filter must bring its unchanged TOASTed values, which only the old row of REPLICA IDENTITY FULL carries (every UPDATE and DELETE of ${table} now logs its whole old row in WAL)`;
    return altered.length > 0
      ? `set REPLICA IDENTITY FULL on ${list(altered)}: ${why}`
      : `${table} has REPLICA IDENTITY FULL, as needed: ${why}`;
  });
}

function list(tables: readonly string[]): string {
  return tables.length === 0 ? 'no tables' : tables.join(', ');
}
