/**
 * Reference staging tables for the CRM fixture (test/fixtures/crm-schema.sql) and the mappings in
 * mappings/. Run by `millrace migrate` (knex, ESM). Every staging table has utf8mb4, the CRM key
 * as its primary or unique key, DATETIME(6) times, and millrace's bookkeeping columns.
 */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  await knex.schema.createTable('stg_customer', (table) => {
    table.charset('utf8mb4');
    table.collate('utf8mb4_unicode_ci');
    table.engine('InnoDB');
    // A surrogate key the MES references; millrace upserts by the unique CRM id.
    table.bigIncrements('id').primary();
    table.integer('crm_partner_id').notNullable().unique('stg_customer_crm_partner_id');
    table.string('customer_name', 128).notNullable();
    table.string('customer_code', 32).nullable();
    table.string('email', 254).nullable();
    table.enu('customer_type', ['COMPANY', 'PERSON', 'OTHER']).notNullable();
    table.specificType('country_code', 'char(2)').nullable();
    table.decimal('credit_limit', 14, 2).nullable();
    table.string('segment', 32).notNullable();
    table.string('city', 128).nullable();
    table.json('tags').nullable();
    table.datetime('crm_created_at', { precision: 6 }).notNullable();
    table.string('source_system', 16).notNullable();
    table.boolean('is_deleted').notNullable().defaultTo(false);
    table.datetime('deleted_at', { precision: 6 }).nullable();
    table.bigInteger('_source_lsn').unsigned().nullable();
    table.datetime('_synced_at', { precision: 6 }).nullable();
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.dropTableIfExists('stg_customer');
}
