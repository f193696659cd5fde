import type { Knex } from 'knex';

/**
 * The return path's control tables on the CRM, in the `millrace` schema: the checkpoint of each
 * MES stream and the rows the CRM refused. They ship in the package and are tracked in their own
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
];

/** Knex migration source over the list above: no files to find at run time. */
export const crmControlMigrationSource: Knex.MigrationSource<ControlMigration> = {
  getMigrations: async () => [...controlMigrations],
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => migration,
};
