import { mysqlConnection, pgClient } from '../support/bench-env.js';
import { workOrderStatements } from '../support/return-schema.js';
import { prepareReturnStream } from '../support/return-stream.js';
import type { ScenarioContext, ScenarioResult } from '../support/scenario.js';
import { type PacedStream, runPacedScenario } from './steady.js';

/** The return stream: the MES's bench_work_order into its CRM copy (`run --direction to-crm`). */
const returnPath: PacedStream = {
  scenario: 'return-steady',
  source: 'MES',
  async prepare(context, connections) {
    const { dbs } = context;
    const stream = await prepareReturnStream(context);
    const sessions = await Promise.all(
      Array.from({ length: connections }, () => mysqlConnection(dbs.servers.mysqlUrl, dbs.name)),
    );
    const poll = pgClient(dbs.crmUrl, 'millrace-bench-poll');
    const close = async () => {
      for (const session of sessions) await session.end().catch(() => undefined);
      await poll.end().catch(() => undefined);
      await stream.close();
    };
    try {
      await poll.connect();
    } catch (error) {
      await close();
      throw error;
    }
    return {
      env: stream.env,
      cli: stream.cli,
      args: stream.args,
      sessions,
      statements: workOrderStatements,
      poll: async (fromProbe) => {
        const { rows } = await poll.query<{ work_order_id: string; probe: string }>(
          'select work_order_id, probe from bench_work_order where probe >= $1',
          [fromProbe],
        );
        return rows.map((row) => ({ key: Number(row.work_order_id), probe: Number(row.probe) }));
      },
      close,
    };
  },
};

/**
 * Return steady state: `millrace run --direction to-crm` replicating while the paced workload
 * commits single-row MES transactions at the rate; latency from each MES commit to the moment
 * the change is visible to another session on the CRM.
 */
export function runReturnSteady(context: ScenarioContext, rate: number): Promise<ScenarioResult> {
  return runPacedScenario(context, rate, returnPath);
}
