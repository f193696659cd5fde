/**
 * The CRM's copy of the MES work orders (mappings/work-orders.yaml, direction to-crm): planned
 * dates, status and quantities next to the sale order they belong to.
 */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  await knex.schema.createTable('mes_work_order', (table) => {
    table.bigInteger('work_order_id').notNullable().primary();
    table.integer('sale_order_id').notNullable().index('mes_work_order_sale_order');
    table.string('status', 16).notNullable();
    table.timestamp('planned_start', { useTz: true, precision: 6 }).notNullable();
    table.timestamp('planned_finish', { useTz: true, precision: 6 }).notNullable();
    table.decimal('qty_planned', 16, 3).notNullable();
    table.decimal('qty_produced', 16, 3).notNullable();
    table.decimal('qty_scrapped', 16, 3).notNullable();
    table.string('work_center', 16).nullable();
    table.timestamp('updated_at', { useTz: true, precision: 6 }).notNullable();
    table.timestamp('_synced_at', { useTz: true, precision: 6 }).nullable();
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.dropTableIfExists('mes_work_order');
}
