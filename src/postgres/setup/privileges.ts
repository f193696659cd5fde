import { RuntimeFailure } from '../../errors/millrace-error.js';
import type { PgClient } from '../pg-client.js';
import { quotePgIdent, quotePgTable } from '../pg-client.js';
import { pgBool, rowsOf } from '../sql-client.js';
import { tableLabel } from '../table-name.js';
import type { PublicationPlan } from './publication-plan.js';
import type { SourceRelation } from './source-relations.js';

export interface RoleFacts {
  readonly role: string;
  readonly superuser: boolean;
  readonly replication: boolean;
  /** CREATE on the current database, needed to create a publication. */
  readonly canCreateInDatabase: boolean;
}

async function readRole(client: PgClient): Promise<RoleFacts> {
  const [row] = await rowsOf<{
    role: string;
    rolsuper: unknown;
    rolreplication: unknown;
    can_create: unknown;
  }>(
    client,
    `SELECT current_user AS role, r.rolsuper, r.rolreplication,
            has_database_privilege(current_database(), 'CREATE') AS can_create
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  if (row === undefined)
    throw new RuntimeFailure('PERMISSION_DENIED', 'cannot read the current role from pg_roles');
  return {
    role: row.role,
    superuser: pgBool(row.rolsuper),
    replication: pgBool(row.rolreplication),
    canCreateInDatabase: pgBool(row.can_create),
  };
}

interface TableRights {
  oid: number | string;
  can_select: unknown;
  owned: unknown;
}

/**
 * Fails (exit 3, PERMISSION_DENIED) listing everything the role lacks, each with its fix:
 * REPLICATION (or superuser) for the slot, SELECT on every mapped table for backfill and audit,
 * and what the pending publication changes need (CREATE on the database, table ownership).
 */
export async function checkPrivileges(
  client: PgClient,
  relations: readonly SourceRelation[],
  plan?: PublicationPlan,
  publication?: string,
): Promise<RoleFacts> {
  const role = await readRole(client);
  if (role.superuser) return role;
  const rows = await rowsOf<TableRights>(
    client,
    `SELECT c.oid::int8 AS oid, has_table_privilege(c.oid, 'SELECT') AS can_select,
            pg_has_role(c.relowner, 'USAGE') AS owned
       FROM pg_class c WHERE c.oid = ANY($1::oid[])`,
    [relations.map((relation) => relation.oid)],
  );
  const byOid = new Map(rows.map((row) => [Number(row.oid), row]));
  const missing = missingRights(role, relations, byOid, plan, publication);
  if (missing.length === 0) return role;
  throw new RuntimeFailure(
    'PERMISSION_DENIED',
    `role ${role.role} is missing: ${missing.join('; ')}`,
    {
      context: { role: role.role, missing },
    },
  );
}

/** Each right the role lacks, with the statement that grants it. */
function missingRights(
  role: RoleFacts,
  relations: readonly SourceRelation[],
  byOid: ReadonlyMap<number, TableRights>,
  plan: PublicationPlan | undefined,
  publication: string | undefined,
): string[] {
  const who = quotePgIdent(role.role);
  const missing: string[] = [];
  if (!role.replication) missing.push(`REPLICATION (fix: ALTER ROLE ${who} WITH REPLICATION)`);
  const unreadable = relations.filter((relation) => !pgBool(byOid.get(relation.oid)?.can_select));
  if (unreadable.length > 0) {
    const list = unreadable
      .map((relation) => quotePgTable(relation.schema, relation.table))
      .join(', ');
    missing.push(
      `SELECT on ${unreadable.map(tableLabel).join(', ')} (fix: GRANT SELECT ON ${list} TO ${who})`,
    );
  }
  if (plan?.create && !role.canCreateInDatabase) {
    missing.push(
      `CREATE on the database, to create the publication (fix: GRANT CREATE ON DATABASE <crm> TO ${who})`,
    );
  }
  if (plan?.alterNotOwned) {
    missing.push(
      `ownership of publication ${publication ?? ''}, to add tables to it (fix: ALTER PUBLICATION ${quotePgIdent(publication ?? '')} OWNER TO ${who}, as its owner)`,
    );
  }
  const toPublish = plan ? [...plan.add, ...plan.unrestrict] : [];
  const notOwned = toPublish.filter((relation) => !pgBool(byOid.get(relation.oid)?.owned));
  if (notOwned.length > 0) {
    missing.push(
      `ownership of ${notOwned.map(tableLabel).join(', ')}, to publish ${notOwned.length > 1 ? 'them' : 'it'} ` +
        `(fix: run setup as the tables' owner or a superuser, or create the publication ${publication ?? ''} as one)`,
    );
  }
  return missing;
}
