import type { Command } from 'commander';
import { redact } from '../../config/redact.js';
import { UsageError } from '../../errors/millrace-error.js';
import {
  planTeardown,
  type TeardownPlan,
  teardownReplication,
} from '../../postgres/setup/teardown-replication.js';
import {
  planReturnTeardown,
  type ReturnPathPlan,
  teardownReturnPath,
  withReturnPathFenced,
} from '../../postgres/sink/teardown-return-path.js';
import { tableLabel } from '../../postgres/table-name.js';
import { withReleasers } from '../../util/releasers.js';
import { holdSource } from '../command-connections.js';
import { createContext } from '../context.js';

export async function executeTeardown(options: { yes?: boolean }, command: Command): Promise<void> {
  const context = createContext(command);
  const { config, print } = context;
  const names = { slot: config.slot, publication: config.publication };
  await withReleasers(async (releasers) => {
    const client = await holdSource(releasers, context, 'teardown');
    const returnPlan = await planReturnTeardown(client, config.slot);
    if (options.yes !== true) {
      const plan = await planTeardown(client, names);
      print(
        [
          describePlan(plan, names, redact(config.sourceUrl)),
          ...describeReturnPlan(returnPlan, config.slot),
        ].join('\n'),
      );
      throw new UsageError(
        'CONFIRMATION_REQUIRED',
        'teardown drops nothing without --yes: run millrace teardown --yes to drop what is listed above',
      );
    }
    // Under the return stream's lock: refused while a return stream runs, before anything goes.
    const { result, returned } = await withReturnPathFenced(client, config.slot, async () => ({
      result: await teardownReplication(client, names),
      returned: await teardownReturnPath(client, config.slot, returnPlan),
    }));
    print(
      [
        result.slotDropped
          ? `dropped replication slot ${names.slot}`
          : `no replication slot ${names.slot} (nothing to drop)`,
        result.publicationDropped
          ? `dropped publication ${names.publication}`
          : `no publication ${names.publication} (nothing to drop)`,
        ...describeReturnTeardown(returned, config.slot),
      ].join('\n'),
    );
  });
}

/** The return path's part of the plan: its origin and checkpoint, or that there are none. */
function describeReturnPlan(plan: ReturnPathPlan, stream: string): string[] {
  if (plan.origins.length === 0 && plan.checkpoint === undefined) {
    return [`  return path of ${stream}: no replication origin, no checkpoint, nothing to drop`];
  }
  return [
    ...plan.origins.map(
      (origin) => `  replication origin ${origin} (tags the return path's writes)`,
    ),
    ...(plan.checkpoint === undefined
      ? []
      : [
          `  the return path's checkpoint of ${stream} in millrace.checkpoints (${plan.checkpoint.binlogFile ?? '?'}:${plan.checkpoint.binlogPosition ?? '?'})`,
        ]),
  ];
}

function describeReturnTeardown(
  done: { readonly originsDropped: readonly string[]; readonly checkpointRemoved: boolean },
  stream: string,
): string[] {
  if (done.originsDropped.length === 0 && !done.checkpointRemoved) {
    return [`no replication origin or checkpoint of the return path ${stream} (nothing to drop)`];
  }
  return [
    ...done.originsDropped.map((origin) => `dropped replication origin ${origin}`),
    ...(done.checkpointRemoved
      ? [`removed the return path's checkpoint of ${stream} from millrace.checkpoints`]
      : []),
  ];
}

/** Exactly what `teardown --yes` would drop, and what would stop it. */
function describePlan(
  plan: TeardownPlan,
  names: { readonly slot: string; readonly publication: string },
  source: string,
): string {
  const lines = [`on ${source}, teardown --yes would drop:`];
  const { slot, publication } = plan;
  if (slot === undefined) {
    lines.push(`  replication slot ${names.slot}: does not exist, nothing to drop`);
  } else if (!slot.inThisDatabase) {
    lines.push(
      `  replication slot ${names.slot}: belongs to database ${slot.database}, would be refused`,
    );
  } else {
    const state = slot.active
      ? `in use by PID ${slot.activePid ?? 'unknown'}, would be refused until it stops`
      : 'idle';
    lines.push(
      `  replication slot ${names.slot} (${slot.plugin ?? slot.slotType}, confirmed up to ${slot.confirmedFlushLsn ?? 'nothing'}, ${state})`,
    );
  }
  if (publication === undefined) {
    lines.push(`  publication ${names.publication}: does not exist, nothing to drop`);
  } else {
    const tables = publication.allTables
      ? 'all tables'
      : publication.members.length === 0
        ? 'no tables'
        : publication.members.map(tableLabel).join(', ');
    lines.push(`  publication ${names.publication} (${tables})`);
  }
  return lines.join('\n');
}
