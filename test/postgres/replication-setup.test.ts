import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  ExitCode,
  type MillraceError,
  RuntimeFailure,
} from '../../src/errors/millrace-error.js';
import type { PgClient } from '../../src/postgres/pg-client.js';
import { pgClientConfig } from '../../src/postgres/pg-client.js';
import { ensureSlot } from '../../src/postgres/setup/ensure-slot.js';
import { checkPrivileges } from '../../src/postgres/setup/privileges.js';
import { readPublication } from '../../src/postgres/setup/publication-state.js';
import {
  checkReplicaIdentity,
  identityProblem,
} from '../../src/postgres/setup/replica-identity.js';
import { setupReplication } from '../../src/postgres/setup/setup-replication.js';
import { describeSourceTables } from '../../src/postgres/setup/source-relations.js';
import {
  dropPublication,
  dropSlot,
  planTeardown,
  teardownReplication,
} from '../../src/postgres/setup/teardown-replication.js';
import { checkWalLevel } from '../../src/postgres/setup/wal-level.js';
import { readSlotStatus, readSourceStatus } from '../../src/postgres/slot-status.js';
import type { TableName } from '../../src/postgres/table-name.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/** Slots are cluster-wide and other suites run beside this one: every name is unique. */
function uniqueSlot(label: string): string {
  return `mrt_${label}_${randomBytes(4).toString('hex')}`;
}

const t = (table: string, schema = 'public'): TableName => ({ schema, table });

/** The failure a promise rejects with, so its class, code and message can all be checked. */
async function failureOf(promise: Promise<unknown>): Promise<MillraceError> {
  try {
    await promise;
  } catch (error) {
    return error as MillraceError;
  }
  throw new Error('expected a failure');
}

/** A structural client that answers the wal_level query and nothing else. */
function fakeClient(walLevel: string): PgClient & { readonly queries: string[] } {
  const queries: string[] = [];
  const query = async (text: string) => {
    queries.push(text);
    if (/wal_level/.test(text)) return { rows: [{ wal_level: walLevel }] };
    throw new Error(`unexpected query: ${text}`);
  };
  // Only the text form of query is ever called here.
  return { queries, query: query as PgClient['query'], end: async () => undefined };
}

describe('checkWalLevel', () => {
  it('fails with exit 3, WAL_LEVEL and the fix when the server is not at logical', async () => {
    const error = await failureOf(checkWalLevel(fakeClient('replica')));
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect(error.code).toBe('WAL_LEVEL');
    expect(error.exitCode).toBe(ExitCode.runtime);
    expect(error.message).toContain('wal_level = replica');
    expect(error.message).toContain('ALTER SYSTEM SET wal_level = logical');
    expect(error.message).toMatch(/restart/);
  });

  it('passes at logical', async () => {
    const client = fakeClient('logical');
    await expect(checkWalLevel(client)).resolves.toBeUndefined();
    expect(client.queries).toHaveLength(1);
  });
});

describe('identityProblem', () => {
  it('accepts FULL, DEFAULT with a primary key and a live identity index', () => {
    expect(
      identityProblem({ replicaIdentity: 'f', hasPrimaryKey: false, hasIdentityIndex: false }),
    ).toBeUndefined();
    expect(
      identityProblem({ replicaIdentity: 'd', hasPrimaryKey: true, hasIdentityIndex: false }),
    ).toBeUndefined();
    expect(
      identityProblem({ replicaIdentity: 'i', hasPrimaryKey: false, hasIdentityIndex: true }),
    ).toBeUndefined();
  });

  it('refuses NOTHING, DEFAULT without a primary key and INDEX on a dropped index', () => {
    expect(
      identityProblem({ replicaIdentity: 'n', hasPrimaryKey: true, hasIdentityIndex: false }),
    ).toMatch(/NOTHING/);
    expect(
      identityProblem({ replicaIdentity: 'd', hasPrimaryKey: false, hasIdentityIndex: false }),
    ).toMatch(/no primary key/);
    expect(
      identityProblem({ replicaIdentity: 'i', hasPrimaryKey: true, hasIdentityIndex: false }),
    ).toMatch(/no longer exists/);
  });
});

describe('against PostgreSQL', () => {
  let db: TestDatabases;
  let limitedRole: string | undefined;

  beforeAll(async () => {
    db = await createTestDatabases('replication_setup');
    await db.pg.query(`
      CREATE TABLE orders (id int PRIMARY KEY, ref text);
      CREATE TABLE lines (id int PRIMARY KEY, order_id int);
      CREATE TABLE notes (id int PRIMARY KEY, body text);
      ALTER TABLE notes REPLICA IDENTITY NOTHING;
      CREATE TABLE logs (id int, body text);
      CREATE TABLE logs_full (id int, body text);
      ALTER TABLE logs_full REPLICA IDENTITY FULL;
      CREATE TABLE by_index (id int NOT NULL, code text NOT NULL);
      CREATE UNIQUE INDEX by_index_code ON by_index (code);
      ALTER TABLE by_index REPLICA IDENTITY USING INDEX by_index_code;
      DROP INDEX by_index_code;
      CREATE TABLE deferred (id int PRIMARY KEY DEFERRABLE INITIALLY DEFERRED);
      CREATE VIEW orders_view AS SELECT * FROM orders;
      CREATE TABLE events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
      CREATE TABLE part_a_of_events PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      CREATE TABLE part_b_of_events PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE loose (id int, at date) PARTITION BY RANGE (at);
      CREATE TABLE loose_leaf PARTITION OF loose FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      ALTER TABLE loose REPLICA IDENTITY FULL;
      CREATE SCHEMA "Sales";
      CREATE TABLE "Sales"."Quotes" (id int PRIMARY KEY);
    `);
  });

  afterAll(async () => {
    try {
      await db?.drop(); // also drops every slot of the test database
    } finally {
      if (limitedRole) {
        const admin = new pg.Client(
          pgClientConfig({ url: new URL('/postgres', db.crmUrl).toString() }),
        );
        await admin.connect();
        await admin.query(`DROP ROLE IF EXISTS ${limitedRole}`).finally(() => admin.end());
      }
    }
  });

  it('describes the mapped tables, with partitions, deferrable keys and quoted names', async () => {
    const relations = await describeSourceTables(db.pg, [
      t('orders'),
      t('events'),
      t('deferred'),
      t('Quotes', 'Sales'),
      t('orders'),
    ]);
    expect(relations.map((relation) => `${relation.schema}.${relation.table}`)).toEqual([
      'public.orders',
      'public.events',
      'public.deferred',
      'Sales.Quotes',
    ]);
    const [orders, events, deferred] = relations;
    expect(orders).toMatchObject({
      kind: 'r',
      replicaIdentity: 'd',
      hasPrimaryKey: true,
      leaves: [],
    });
    expect(events?.kind).toBe('p');
    expect(events?.leaves.map((leaf) => leaf.table)).toEqual([
      'part_a_of_events',
      'part_b_of_events',
    ]);
    // A deferrable primary key cannot serve as the replica identity.
    expect(deferred?.hasPrimaryKey).toBe(false);
  });

  it('refuses a missing table and a view with exit 2', async () => {
    const missing = await failureOf(describeSourceTables(db.pg, [t('orders'), t('no_such_table')]));
    expect(missing).toBeInstanceOf(ConfigError);
    expect(missing.code).toBe('SOURCE_TABLE_MISSING');
    expect(missing.message).toContain('public.no_such_table');
    const view = await failureOf(describeSourceTables(db.pg, [t('orders_view')]));
    expect(view.code).toBe('SOURCE_NOT_TABLE');
    expect(view.exitCode).toBe(ExitCode.usage);
  });

  it.each([
    ['notes', 'notes', /REPLICA IDENTITY NOTHING/],
    ['logs', 'logs', /no primary key/],
    ['by_index', 'by_index', /no longer exists/],
    ['deferred', 'deferred', /no primary key/],
    ['loose', 'loose_leaf', /a partition of mapped table public\.loose/],
  ])('refuses %s: REPLICA_IDENTITY naming %s and the fix', async (table, named, why) => {
    const relations = await describeSourceTables(db.pg, [t('orders'), t(table)]);
    let error: MillraceError | undefined;
    try {
      checkReplicaIdentity(relations);
    } catch (caught) {
      error = caught as MillraceError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.code).toBe('REPLICA_IDENTITY');
    expect(error?.message).toContain(`public.${named}`);
    expect(error?.message).toMatch(why);
    expect(error?.message).toContain(`ALTER TABLE "public"."${named}" REPLICA IDENTITY FULL`);
    expect(error?.message).toContain('primary key');
  });

  it('accepts FULL without a key, and refuses a partition mapped beside its root', async () => {
    checkReplicaIdentity(await describeSourceTables(db.pg, [t('logs_full'), t('events')]));
    const both = await describeSourceTables(db.pg, [t('events'), t('part_a_of_events')]);
    expect(() => checkReplicaIdentity(both)).toThrow(
      /part_a_of_events is a partition of public\.events/,
    );
  });

  it('creates the publication and slot, then is a no-op, then adds a newly mapped table', async () => {
    const slot = uniqueSlot('setup');
    const first = await setupReplication({
      client: db.pg,
      publication: 'pub_setup',
      slot,
      tables: [t('orders'), t('events'), t('Quotes', 'Sales')],
    });
    expect(first.publication).toMatchObject({ created: true, added: [], optionsSet: false });
    expect(first.publication.present).toEqual(['public.orders', 'public.events', 'Sales.Quotes']);
    expect(first.slot.created).toBe(true);
    expect(first.slot.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

    const published = await db.pg.query(
      "SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables WHERE pubname = 'pub_setup' ORDER BY 1",
    );
    // The partitioned table shows as its root, not as its partitions.
    expect(published.rows.map((row) => row.name)).toEqual([
      'Sales.Quotes',
      'public.events',
      'public.orders',
    ]);
    const publication = await db.pg.query(
      "SELECT pubviaroot FROM pg_publication WHERE pubname = 'pub_setup'",
    );
    expect(publication.rows[0]?.pubviaroot).toBe('t'); // text form, as millrace reads it
    const created = await db.pg.query(
      'SELECT plugin, slot_type, database FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    expect(created.rows[0]).toEqual({
      plugin: 'pgoutput',
      slot_type: 'logical',
      database: db.crmName,
    });

    const second = await setupReplication({
      client: db.pg,
      publication: 'pub_setup',
      slot,
      tables: [t('orders'), t('events'), t('Quotes', 'Sales')],
    });
    expect(second.publication).toMatchObject({
      created: false,
      added: [],
      unrestricted: [],
      optionsSet: false,
    });
    expect(second.slot).toMatchObject({ created: false, lsn: first.slot.lsn });

    const third = await setupReplication({
      client: db.pg,
      publication: 'pub_setup',
      slot,
      tables: [t('orders'), t('events'), t('Quotes', 'Sales'), t('lines')],
    });
    expect(third.publication.added).toEqual(['public.lines']);
    expect(third.slot.created).toBe(false);
    const state = await readPublication(db.pg, 'pub_setup');
    expect(state?.members.map((member) => member.table).sort()).toEqual([
      'Quotes',
      'events',
      'lines',
      'orders',
    ]);
  });

  it('publishes a partition change through its root', async () => {
    const slot = uniqueSlot('viaroot');
    await setupReplication({ client: db.pg, publication: 'pub_root', slot, tables: [t('events')] });
    await db.pg.query("INSERT INTO events VALUES (1, '2024-06-01'), (2, '2025-06-01')");
    const changes = await db.pg.query(
      `SELECT encode(data, 'hex') AS data FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL,
         'proto_version', '1', 'publication_names', 'pub_root')`,
      [slot],
    );
    const oids = await db.pg.query(
      "SELECT 'events'::regclass::oid AS root, 'part_a_of_events'::regclass::oid AS a, 'part_b_of_events'::regclass::oid AS b",
    );
    const { root, a, b } = oids.rows[0] as { root: string; a: string; b: string };
    // An Insert message is 'I' (0x49) then the relation's OID: both rows carry the root's.
    const inserts = changes.rows
      .map((row) => row.data as string)
      .filter((data) => data.startsWith('49'));
    const relids = inserts.map((data) => Number.parseInt(data.slice(2, 10), 16));
    expect(relids).toEqual([Number(root), Number(root)]);
    expect(relids).not.toContain(Number(a));
    expect(relids).not.toContain(Number(b));
  });

  it('brings an existing publication up to date: options, row filters and column lists', async () => {
    await db.pg.query(
      "CREATE PUBLICATION pub_old FOR TABLE orders WHERE (id > 10), lines (id) WITH (publish = 'insert', publish_via_partition_root = false)",
    );
    const slot = uniqueSlot('old');
    const report = await setupReplication({
      client: db.pg,
      publication: 'pub_old',
      slot,
      tables: [t('orders'), t('lines')],
    });
    expect(report.publication).toMatchObject({ created: false, optionsSet: true, added: [] });
    expect([...report.publication.unrestricted].sort()).toEqual(['public.lines', 'public.orders']);
    const rows = await db.pg.query(
      `SELECT c.relname, r.prqual IS NULL AS no_filter, r.prattrs IS NULL AS all_columns
         FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid JOIN pg_class c ON c.oid = r.prrelid
        WHERE p.pubname = 'pub_old' ORDER BY 1`,
    );
    expect(rows.rows).toEqual([
      { relname: 'lines', no_filter: 't', all_columns: 't' },
      { relname: 'orders', no_filter: 't', all_columns: 't' },
    ]);
    const options = await db.pg.query(
      "SELECT pubinsert, pubupdate, pubdelete, pubtruncate, pubviaroot FROM pg_publication WHERE pubname = 'pub_old'",
    );
    expect(options.rows[0]).toEqual({
      pubinsert: 't',
      pubupdate: 't',
      pubdelete: 't',
      pubtruncate: 't',
      pubviaroot: 't',
    });
  });

  it('changes nothing when a mapped table cannot carry updates', async () => {
    const slot = uniqueSlot('refused');
    const error = await failureOf(
      setupReplication({
        client: db.pg,
        publication: 'pub_refused',
        slot,
        tables: [t('orders'), t('notes')],
      }),
    );
    expect(error.code).toBe('REPLICA_IDENTITY');
    expect(await readPublication(db.pg, 'pub_refused')).toBeUndefined();
    expect(await readSlotStatus(db.pg, slot)).toBeUndefined();
  });

  it('refuses a slot of that name with another plugin, with the fix', async () => {
    const slot = uniqueSlot('plugin');
    await db.pg.query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [slot]);
    const error = await failureOf(ensureSlot(db.pg, slot));
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect(error.code).toBe('SLOT_CONFLICT');
    expect(error.message).toContain('test_decoding');
    expect(error.message).toContain(`pg_drop_replication_slot('${slot}')`);
    expect(error.message).toContain('--slot');
  });

  it('lists what a role lacks, with the GRANT and ALTER ROLE fixes', async () => {
    limitedRole = `mrt_role_${randomBytes(4).toString('hex')}`;
    await db.pg.query(`CREATE ROLE ${limitedRole} LOGIN`);
    await db.pg.query(`GRANT SELECT ON orders TO ${limitedRole}`);
    const url = new URL(db.crmUrl);
    url.username = limitedRole;
    const limited = new pg.Client(pgClientConfig({ url: url.toString() }));
    await limited.connect();
    try {
      const relations = await describeSourceTables(limited, [t('orders'), t('lines')]);
      const error = await failureOf(checkPrivileges(limited, relations));
      expect(error).toBeInstanceOf(RuntimeFailure);
      expect(error.code).toBe('PERMISSION_DENIED');
      expect(error.exitCode).toBe(ExitCode.runtime);
      expect(error.message).toContain(`ALTER ROLE "${limitedRole}" WITH REPLICATION`);
      expect(error.message).toContain(`GRANT SELECT ON "public"."lines" TO "${limitedRole}"`);
      expect(error.message).not.toContain('"public"."orders"');
      // Through setupReplication too: it stops before creating anything.
      const viaSetup = await failureOf(
        setupReplication({
          client: limited,
          publication: 'pub_limited',
          slot: uniqueSlot('limited'),
          tables: [t('orders')],
        }),
      );
      expect(viaSetup.code).toBe('PERMISSION_DENIED');
      expect(await readPublication(db.pg, 'pub_limited')).toBeUndefined();
    } finally {
      await limited.end();
    }
  });

  it('tears down idempotently, refusing an active slot with its PID', async () => {
    const slot = uniqueSlot('teardown');
    await setupReplication({ client: db.pg, publication: 'pub_down', slot, tables: [t('orders')] });
    const plan = await planTeardown(db.pg, { slot, publication: 'pub_down' });
    expect(plan.slot).toMatchObject({
      name: slot,
      plugin: 'pgoutput',
      active: false,
      inThisDatabase: true,
    });
    expect(plan.publication?.members.map((member) => member.table)).toEqual(['orders']);

    const service = new LogicalReplicationService(
      pgClientConfig({ url: db.crmUrl, replication: true }),
      {
        acknowledge: { auto: false, timeoutSeconds: 0 },
      },
    );
    service.on('error', () => undefined);
    const started = new Promise<void>((resolve) => service.once('start', () => resolve()));
    const streaming = service
      .subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: ['pub_down'] }), slot)
      .catch(() => undefined);
    try {
      await started;
      const active = await readSlotStatus(db.pg, slot);
      expect(active?.active).toBe(true);
      const error = await failureOf(teardownReplication(db.pg, { slot, publication: 'pub_down' }));
      expect(error).toBeInstanceOf(RuntimeFailure);
      expect(error.code).toBe('SLOT_IN_USE');
      expect(error.message).toContain(`PID ${active?.activePid}`);
      // The publication stays for the running replicator.
      expect(await readPublication(db.pg, 'pub_down')).toBeDefined();
    } finally {
      await service.stop();
      await streaming;
    }
    // The walsender lets go of the slot asynchronously.
    for (let i = 0; i < 50 && (await readSlotStatus(db.pg, slot))?.active; i++)
      await new Promise((r) => setTimeout(r, 100));

    expect(await teardownReplication(db.pg, { slot, publication: 'pub_down' })).toEqual({
      slotDropped: true,
      publicationDropped: true,
    });
    expect(await teardownReplication(db.pg, { slot, publication: 'pub_down' })).toEqual({
      slotDropped: false,
      publicationDropped: false,
    });
    expect(await dropSlot(db.pg, slot)).toBe(false);
    expect(await dropPublication(db.pg, 'pub_down')).toBe(false);
  });

  it('reports slot positions, retained WAL and published tables', async () => {
    const slot = uniqueSlot('status');
    await setupReplication({
      client: db.pg,
      publication: 'pub_status',
      slot,
      tables: [t('orders'), t('events')],
    });
    await db.pg.query(
      'INSERT INTO orders SELECT g, repeat($1, 100) FROM generate_series(1000, 1999) g',
      ['x'],
    );
    const status = await readSourceStatus(db.pg, { slot, publication: 'pub_status' });
    expect(status.currentLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(status.slot).toMatchObject({
      name: slot,
      plugin: 'pgoutput',
      active: false,
      activePid: null,
      database: db.crmName,
      inThisDatabase: true,
    });
    expect(status.slot?.walStatus).toMatch(/reserved|extended/);
    expect(status.slot?.retainedWalBytes).toBeGreaterThan(100_000);
    expect(status.slot?.lagBytes).toBeGreaterThan(100_000);
    expect(status.publication).toEqual({
      name: 'pub_status',
      allTables: false,
      viaRoot: true,
      tables: ['public.events', 'public.orders'],
    });
    const missing = await readSourceStatus(db.pg, {
      slot: uniqueSlot('none'),
      publication: 'pub_none',
    });
    expect(missing.slot).toBeUndefined();
    expect(missing.publication).toBeUndefined();
  });
});
