import { fullIdentityReason } from '../../mapping/check-toast-filter.js';
import type { MappingSpec } from '../../mapping/mapping-spec.js';
import { resolveMapping } from '../../mapping/resolve-mapping.js';
import { introspectSource } from '../introspect.js';
import type { PgClient } from '../pg-client.js';
import { quotePgTable } from '../pg-client.js';
import { type TableName, tableLabel } from '../table-name.js';
import { wrapPrivilegeError } from './privilege-error.js';
import type { IdentityFacts, SourceRelation } from './source-relations.js';

/** A mapped table whose mappings need REPLICA IDENTITY FULL, and what setup did about it. */
export interface FullIdentityResult {
  /** The mapped table, `schema.table`. */
  readonly table: string;
  /** Why (a mapping writes or filters on a TOASTable column under a filter). */
  readonly reasons: readonly string[];
  /** Relations set to FULL now: the table, or the leaves of a partitioned table. */
  readonly altered: readonly string[];
}

/**
 * Sets REPLICA IDENTITY FULL on the mapped tables whose mappings can meet a row entering their
 * filter without an unchanged TOASTed value: pgoutput then sends the whole old row, from which
 * the unchanged values of the new row are filled. Only ever raises an identity to FULL (never
 * lowers one); idempotent. A partitioned table's leaves are set, since they log the old rows.
 */
export async function ensureFullIdentity(
  client: PgClient,
  mappings: readonly MappingSpec[],
  relations: readonly SourceRelation[],
): Promise<readonly FullIdentityResult[]> {
  const reasons = await reasonsByTable(client, mappings);
  const results: FullIdentityResult[] = [];
  for (const relation of relations) {
    const why = reasons.get(tableLabel(relation));
    if (why === undefined || why.length === 0) continue;
    const targets: (IdentityFacts & TableName)[] =
      relation.kind === 'p' ? [...relation.leaves] : [relation];
    const altered: string[] = [];
    for (const target of targets) {
      if (target.replicaIdentity === 'f') continue;
      await setFull(client, target);
      altered.push(tableLabel(target));
    }
    results.push({ table: tableLabel(relation), reasons: why, altered });
  }
  return results;
}

async function reasonsByTable(
  client: PgClient,
  mappings: readonly MappingSpec[],
): Promise<ReadonlyMap<string, readonly string[]>> {
  const sources = await introspectSource(
    client,
    mappings.map((spec) => spec.source),
  );
  const reasons = new Map<string, string[]>();
  for (const spec of mappings) {
    const found = fullIdentityReason(resolveMapping(spec, sources.get(spec.sourceKey), undefined));
    if (found !== undefined)
      reasons.set(spec.sourceKey, [...(reasons.get(spec.sourceKey) ?? []), found]);
  }
  return reasons;
}

async function setFull(client: PgClient, table: TableName): Promise<void> {
  try {
    await client.query(
      `ALTER TABLE ${quotePgTable(table.schema, table.table)} REPLICA IDENTITY FULL`,
    );
  } catch (error) {
    throw wrapPrivilegeError(error, `cannot set REPLICA IDENTITY FULL on ${tableLabel(table)}`);
  }
}
