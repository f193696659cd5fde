/** Materials (CRM products). Kept when the product is deleted (onDelete: ignore). */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  await knex.schema.createTable('stg_material', (table) => {
    table.charset('utf8mb4');
    table.collate('utf8mb4_unicode_ci');
    table.engine('InnoDB');
    table.integer('crm_product_id').notNullable().primary();
    // Not unique on purpose: two products swapping codes in one CRM transaction would otherwise
    // collide mid-batch (ON DUPLICATE KEY UPDATE fires on any unique key).
    table.string('material_no', 64).notNullable().index('stg_material_no');
    table.string('description', 80).notNullable();
    table.specificType('uom', 'char(3)').notNullable();
    table.decimal('base_price', 12, 4).notNullable();
    table.decimal('weight_kg', 10, 3).nullable();
    table.string('barcode', 32).nullable();
    table.specificType('image', 'longblob').nullable();
    table.boolean('is_active').notNullable();
    table.string('material_group', 16).notNullable();
    table.datetime('_synced_at', { precision: 6 }).nullable();
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.dropTableIfExists('stg_material');
}
