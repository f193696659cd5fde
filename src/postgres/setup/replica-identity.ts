import { ConfigError } from '../../errors/millrace-error.js';
import { quotePgTable } from '../pg-client.js';
import { type TableName, tableLabel } from '../table-name.js';
import type { IdentityFacts, SourceRelation } from './source-relations.js';

/**
 * Why UPDATE/DELETE on this relation could not be published, or undefined when they can. Once a
 * table without a usable identity is in a publication, PostgreSQL refuses its UPDATEs and
 * DELETEs on the CRM itself, so this must be caught before the table is added.
 */
export function identityProblem(facts: IdentityFacts): string | undefined {
  switch (facts.replicaIdentity) {
    case 'f':
      return undefined;
    case 'n':
      return 'has REPLICA IDENTITY NOTHING';
    case 'd':
      return facts.hasPrimaryKey ? undefined : 'has no primary key (REPLICA IDENTITY DEFAULT)';
    case 'i':
      return facts.hasIdentityIndex
        ? undefined
        : 'has REPLICA IDENTITY USING INDEX on an index that no longer exists';
    default:
      return `has an unknown replica identity '${String(facts.replicaIdentity)}'`;
  }
}

/**
 * Refuses (exit 2) a mapped table, or a partition of a mapped partitioned table, whose replica
 * identity cannot carry updates and deletes; and a partition mapped beside its own root, whose
 * changes would all be published through the root and never reach the partition's mapping.
 */
export function checkReplicaIdentity(relations: readonly SourceRelation[]): void {
  for (const relation of relations) checkIdentities(relation);
  checkNoMappedRoot(relations);
}

function checkIdentities(relation: SourceRelation): void {
  const targets: (IdentityFacts & TableName)[] =
    relation.kind === 'p' ? [...relation.leaves] : [relation];
  for (const target of targets) {
    const problem = identityProblem(target);
    if (problem === undefined) continue;
    const label = tableLabel(target);
    const via =
      relation.kind === 'p' ? ` (a partition of mapped table ${tableLabel(relation)})` : '';
    throw new ConfigError(
      'REPLICA_IDENTITY',
      `source table ${label}${via} ${problem}, so its UPDATEs and DELETEs cannot be replicated: ` +
        `run ALTER TABLE ${quotePgTable(target.schema, target.table)} REPLICA IDENTITY FULL, or add a primary key`,
      { context: { table: label, replicaIdentity: target.replicaIdentity } },
    );
  }
}

function checkNoMappedRoot(relations: readonly SourceRelation[]): void {
  const mapped = new Map(relations.map((relation) => [relation.oid, relation]));
  for (const relation of relations) {
    const root = relation.ancestors
      .map((oid) => mapped.get(oid))
      .find((found) => found !== undefined);
    if (root === undefined) continue;
    throw new ConfigError(
      'PARTITION_MAPPED',
      `source table ${tableLabel(relation)} is a partition of ${tableLabel(root)}, which is mapped too: ` +
        `its changes are published through ${tableLabel(root)} (publish_via_partition_root); map the parent table only`,
      { context: { table: tableLabel(relation), root: tableLabel(root) } },
    );
  }
}
