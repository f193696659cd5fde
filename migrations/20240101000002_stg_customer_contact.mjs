/** Contact persons of customers: the second mapping of res_partner (fan-out). */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  await knex.schema.createTable('stg_customer_contact', (table) => {
    table.charset('utf8mb4');
    table.collate('utf8mb4_unicode_ci');
    table.engine('InnoDB');
    table.integer('crm_contact_id').notNullable().primary();
    table.integer('crm_partner_id').nullable().index('stg_customer_contact_partner');
    table.string('contact_name', 128).notNullable();
    table.string('email', 254).nullable();
    table.string('phone', 32).nullable();
    table.string('display_name', 400).nullable();
    table.datetime('_synced_at', { precision: 6 }).nullable();
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.dropTableIfExists('stg_customer_contact');
}
