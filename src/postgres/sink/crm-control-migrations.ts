import type { Knex } from 'knex';

/**
 * The return path's control tables on the CRM, in the `millrace` schema: the checkpoint of each
 * MES stream, the rows the CRM refused and the progress of each to-crm backfill. They ship in the package and are tracked in their own
 * migrations table, apart from the user's CRM staging migrations.
 */
interface ControlMigration {
  readonly name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const controlSchema = 'millrace';

const controlMigrations: readonly ControlMigration[] = [
  {
    name: '0001_crm_control_tables',
    async up(knex) {
      await knex.schema.withSchema(controlSchema).createTable('checkpoints', (table) => {
        table.text('stream').primary();
        // The encoded binlog position ((file index << 32) | offset) where a restart resumes: the
        // one the stream compares; the columns after it spell it out for people.
        table.bigInteger('lsn').notNullable();
        table.text('binlog_file').nullable();
        table.bigInteger('binlog_position').nullable();
        // The MariaDB GTID (domain-server-sequence) of the last applied transaction.
        table.text('gtid').nullable();
        table.timestamp('updated_at', { useTz: true, precision: 6 }).notNullable();
      });
      // The same columns and meaning as the MES's millrace_dead_letters.
      await knex.schema.withSchema(controlSchema).createTable('dead_letters', (table) => {
        table.bigIncrements('id').primary();
        table.text('mapping_name').notNullable();
        table.bigInteger('lsn').nullable();
        table.text('lsn_text').nullable();
        table.text('operation').notNullable();
        table.text('key_values').notNullable();
        table.text('source_values').notNullable();
        table.text('error').notNullable();
        table.timestamp('created_at', { useTz: true, precision: 6 }).notNullable();
        table.index(['mapping_name', 'created_at'], 'dead_letters_mapping');
      });
    },
    async down(knex) {
      for (const table of ['dead_letters', 'checkpoints']) {
        await knex.schema.withSchema(controlSchema).dropTableIfExists(table);
      }
    },
  },
  {
    name: '0002_crm_backfill_progress',
    async up(knex) {
      // One row per to-crm mapping: its latest backfill, committed with each chunk it wrote.
      await knex.schema.withSchema(controlSchema).createTable('backfill_progress', (table) => {
        table.text('mapping').primary();
        // running | done
        table.text('status').notNullable();
        // The MES key (encoded text forms) of the last row of the last committed chunk.
        table.text('last_key').nullable();
        table.bigInteger('rows_read').notNullable().defaultTo(0);
        table.bigInteger('rows_copied').notNullable().defaultTo(0);
        table.bigInteger('rows_removed').notNullable().defaultTo(0);
        table.bigInteger('dead_letters').notNullable().defaultTo(0);
        // information_schema's estimate of the MES table's rows, for ETAs.
        table.bigInteger('rows_total').nullable();
        table.integer('chunk_size').nullable();
        // The binlog position of the last chunk's snapshot, for people.
        table.text('snapshot').nullable();
        table.timestamp('started_at', { useTz: true, precision: 6 }).notNullable();
        table.timestamp('updated_at', { useTz: true, precision: 6 }).notNullable();
        table.timestamp('finished_at', { useTz: true, precision: 6 }).nullable();
      });
    },
    async down(knex) {
      await knex.schema.withSchema(controlSchema).dropTableIfExists('backfill_progress');
    },
  },
];

/** Knex migration source over the list above: no files to find at run time. */
export const crmControlMigrationSource: Knex.MigrationSource<ControlMigration> = {
  getMigrations: async () => [...controlMigrations],
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => migration,
};
