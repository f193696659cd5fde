/** Production orders (confirmed CRM sale orders) and their lines. */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  await knex.schema.createTable('stg_production_order', (table) => {
    table.charset('utf8mb4');
    table.collate('utf8mb4_unicode_ci');
    table.engine('InnoDB');
    table.integer('crm_order_id').notNullable().primary();
    table.string('order_ref', 64).notNullable().index('stg_production_order_ref');
    table.integer('customer_id').notNullable().index('stg_production_order_customer');
    table.enu('state', ['PLANNED', 'RELEASED', 'COMPLETED']).notNullable();
    table.datetime('ordered_at', { precision: 6 }).notNullable();
    table.datetime('due_at', { precision: 6 }).nullable();
    table.decimal('amount_total', 16, 2).notNullable();
    table.specificType('currency', 'char(3)').notNullable();
    table.string('priority', 16).notNullable();
    table.string('plant_code', 8).nullable();
    table.string('title', 120).nullable();
    table.string('label', 80).notNullable();
    table.specificType('access_token', 'char(36)').nullable();
    table.string('source_system', 16).notNullable();
    // The LSN in PostgreSQL's X/Y spelling here; stg_production_order_line keeps it as a number.
    table.string('_source_lsn', 20).nullable();
    table.datetime('_synced_at', { precision: 6 }).nullable();
  });
  await knex.schema.createTable('stg_production_order_line', (table) => {
    table.charset('utf8mb4');
    table.collate('utf8mb4_unicode_ci');
    table.engine('InnoDB');
    table.integer('crm_line_id').notNullable().primary();
    table.integer('crm_order_id').notNullable().index('stg_production_order_line_order');
    table.integer('material_id').notNullable();
    table.integer('position').notNullable();
    table.string('description', 255).notNullable();
    table.decimal('quantity', 16, 3).notNullable();
    table.decimal('unit_price', 14, 4).notNullable();
    table.decimal('discount_pct', 5, 2).notNullable();
    table.string('uom', 16).notNullable();
    table.double('lead_days').notNullable();
    table.bigInteger('_source_lsn').unsigned().nullable();
    table.datetime('_synced_at', { precision: 6 }).nullable();
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.dropTableIfExists('stg_production_order_line');
  await knex.schema.dropTableIfExists('stg_production_order');
}
