import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeBenchMappings } from './bench-schema.js';
import { type MillraceCli, millrace, millraceEnv } from './millrace-cli.js';
import { crmWorkOrderDdl, mesWorkOrderDdl, returnMappingYaml } from './return-schema.js';
import type { ScenarioContext } from './scenario.js';

/** A fresh return stream (MES → CRM) on the bench pair, for one run. */
export interface ReturnStream {
  /** The stream's name: its checkpoint row, lock and replication origin on the CRM. */
  readonly name: string;
  /** The CLI with the return mapping only, and its environment. */
  readonly cli: MillraceCli;
  readonly env: NodeJS.ProcessEnv;
  /** `run` arguments for this stream alone. */
  readonly args: readonly string[];
  /** `teardown --yes` (the stream's origin and checkpoint on the CRM) and the mappings directory. */
  close(): Promise<void>;
}

/**
 * Fresh bench_work_order tables on both sides, the CRM's control tables (`millrace migrate` with
 * a crm/ folder), and a stream name of its own, so nothing of an earlier run is resumed.
 */
export async function prepareReturnStream(context: ScenarioContext): Promise<ReturnStream> {
  const { dbs } = context;
  await dbs.mysql.query('drop table if exists bench_work_order');
  await dbs.mysql.query(mesWorkOrderDdl);
  await dbs.pg.query('drop table if exists bench_work_order');
  await dbs.pg.query(crmWorkOrderDdl);
  const mappingsDir = writeBenchMappings({ 'bench-return.yaml': returnMappingYaml });
  const cli = { ...context.cli, mappingsDir };
  const name = dbs.uniqueName('w');
  const env = millraceEnv(dbs, cli, { slot: name, publication: name });
  const migrations = path.join(context.workDir, 'return-migrations');
  mkdirSync(path.join(migrations, 'crm'), { recursive: true });
  await millrace(cli, ['migrate', '--migrations', migrations], env);
  return {
    name,
    cli,
    env,
    args: ['run', '--direction', 'to-crm'],
    async close() {
      // The replication origin is cluster-wide: the database's drop would leave it behind.
      await millrace(cli, ['teardown', '--yes'], env);
      rmSync(mappingsDir, { recursive: true, force: true });
    },
  };
}
