/**
 * The reference MES's own work orders: what the plant planned and did for each production order.
 * In a real plant this table belongs to the MES application; here it stands in for it, so the
 * demo and the tests have something for the return path (mappings/work-orders.yaml) to carry
 * back into the CRM.
 */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  await knex.schema.createTable('work_order', (table) => {
    table.charset('utf8mb4');
    table.collate('utf8mb4_unicode_ci');
    table.engine('InnoDB');
    table.increments('id').primary();
    table.integer('crm_order_id').notNullable().index('work_order_crm_order');
    table
      .enu('status', ['PLANNED', 'RELEASED', 'IN_PROGRESS', 'DONE', 'CANCELLED'])
      .notNullable()
      .defaultTo('PLANNED');
    table.datetime('planned_start', { precision: 6 }).notNullable();
    table.datetime('planned_finish', { precision: 6 }).notNullable();
    table.decimal('qty_planned', 16, 3).notNullable();
    table.decimal('qty_produced', 16, 3).notNullable().defaultTo(0);
    table.decimal('qty_scrapped', 16, 3).notNullable().defaultTo(0);
    table.string('resource_code', 16).nullable();
    table.datetime('updated_at', { precision: 6 }).notNullable().defaultTo(knex.raw('now(6)'));
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.dropTableIfExists('work_order');
}
