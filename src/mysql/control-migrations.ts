import type { Knex } from 'knex';

/**
 * millrace's own control tables (README, `millrace migrate`). They ship in the package, run
 * before the user's staging migrations, and are tracked in their own migrations table so the
 * two histories never mix.
 */
interface ControlMigration {
  readonly name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

const utf8mb4 = (table: Knex.CreateTableBuilder) => {
  table.charset('utf8mb4');
  table.collate('utf8mb4_bin');
  table.engine('InnoDB');
};

const controlMigrations: readonly ControlMigration[] = [
  {
    name: '0001_control_tables',
    async up(knex) {
      await knex.schema.createTable('millrace_checkpoints', (table) => {
        utf8mb4(table);
        table.string('slot_name', 64).primary();
        // The commit end LSN of the last applied source transaction, as a number for
        // comparison and in PostgreSQL's X/Y spelling for people.
        table.bigInteger('lsn').unsigned().notNullable();
        table.string('lsn_text', 24).notNullable();
        table.datetime('updated_at', { precision: 6 }).notNullable();
      });
      await knex.schema.createTable('millrace_backfills', (table) => {
        utf8mb4(table);
        table.string('mapping_name', 191).primary();
        table.string('status', 16).notNullable();
        table.text('last_key').nullable();
        table.bigInteger('rows_copied').unsigned().notNullable().defaultTo(0);
        table.bigInteger('rows_total').unsigned().nullable();
        table.string('snapshot_lsn', 24).nullable();
        table.datetime('started_at', { precision: 6 }).notNullable();
        table.datetime('updated_at', { precision: 6 }).notNullable();
        table.datetime('finished_at', { precision: 6 }).nullable();
        // One backfill run: a restart or a new request gets a new id, so progress written by an
        // abandoned run (a replicator still finishing its chunk) never lands on the new one.
        table.string('run_id', 36).nullable();
        // 'offline' (the backfill command writes) or 'online' (the replicator writes, in-stream).
        table.string('mode', 16).nullable();
        // 'copy' (source rows in key order), then 'prune' (stale target rows removed).
        table.string('phase', 16).notNullable().defaultTo('copy');
        table.integer('chunk_size').unsigned().nullable();
        table.bigInteger('rows_read').unsigned().notNullable().defaultTo(0);
        table.bigInteger('rows_removed').unsigned().notNullable().defaultTo(0);
        table.bigInteger('dead_letters').unsigned().notNullable().defaultTo(0);
        // Whether the target table held rows when the run started: only then can rows be stale.
        table.boolean('prune').notNullable().defaultTo(false);
        // Resume point of the prune phase: the last target key checked (JSON array).
        table.text('prune_key').nullable();
        table.text('error').nullable();
      });
      await knex.schema.createTable('millrace_dead_letters', (table) => {
        utf8mb4(table);
        table.bigIncrements('id').primary();
        table.string('mapping_name', 191).notNullable();
        table.bigInteger('lsn').unsigned().nullable();
        table.string('lsn_text', 24).nullable();
        table.string('operation', 16).notNullable();
        table.text('key_values', 'mediumtext').notNullable();
        table.text('source_values', 'longtext').notNullable();
        table.text('error').notNullable();
        table.datetime('created_at', { precision: 6 }).notNullable();
        table.index(['mapping_name', 'created_at'], 'millrace_dead_letters_mapping');
      });
      await knex.schema.createTable('millrace_audit_runs', (table) => {
        utf8mb4(table);
        table.bigIncrements('id').primary();
        table.datetime('started_at', { precision: 6 }).notNullable();
        table.datetime('finished_at', { precision: 6 }).notNullable();
        table.boolean('consistent').notNullable();
        table.string('read_lsn', 24).nullable();
        table.text('report', 'longtext').notNullable();
        table.index(['started_at'], 'millrace_audit_runs_started');
      });
    },
    async down(knex) {
      for (const table of [
        'millrace_audit_runs',
        'millrace_dead_letters',
        'millrace_backfills',
        'millrace_checkpoints',
      ]) {
        await knex.schema.dropTableIfExists(table);
      }
    },
  },
  {
    name: '0002_repair_requests',
    async up(knex) {
      // `audit --repair` beside a running replicator: the keys to repair, performed in-stream.
      await knex.schema.createTable('millrace_repairs', (table) => {
        utf8mb4(table);
        table.bigIncrements('id').primary();
        table.string('mapping_name', 191).notNullable();
        // 'requested', then 'done' or 'failed' (see error).
        table.string('status', 16).notNullable();
        // Target keys, one JSON array per line (the prune_key spelling).
        table.text('target_keys', 'longtext').notNullable();
        table.bigInteger('rows_copied').unsigned().notNullable().defaultTo(0);
        table.bigInteger('rows_removed').unsigned().notNullable().defaultTo(0);
        table.bigInteger('dead_letters').unsigned().notNullable().defaultTo(0);
        table.text('error').nullable();
        table.datetime('created_at', { precision: 6 }).notNullable();
        table.datetime('updated_at', { precision: 6 }).notNullable();
        table.index(['status', 'mapping_name'], 'millrace_repairs_status');
      });
    },
    async down(knex) {
      await knex.schema.dropTableIfExists('millrace_repairs');
    },
  },
];

/** Knex migration source over the list above: no files to find at run time. */
export const controlMigrationSource: Knex.MigrationSource<ControlMigration> = {
  getMigrations: async () => [...controlMigrations],
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => migration,
};

export const controlMigrationsTable = 'millrace_schema_migrations';
