import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadCrmFixture,
  migrateReferenceStaging,
  referenceMappingsDir,
} from '../fixtures/crm-fixture.js';
import { cliEnv, runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { backfillRows } from './support.js';

/** What stg_production_order must hold, from the CRM in SQL (mappings/production-orders.yaml). */
const expectedOrders = `
  select id::text as crm_order_id, name as order_ref, partner_id::text as customer_id,
         case state when 'sale' then 'RELEASED' when 'done' then 'COMPLETED' else 'PLANNED' end as state,
         to_char(date_order at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as ordered_at,
         to_char(commitment_date at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as due_at,
         amount_total::text as amount_total, currency,
         left(lower(coalesce(attrs->>'priority', 'normal')), 16) as priority,
         left(attrs#>>'{plant,code}', 8) as plant_code,
         left(upper(btrim(note)), 120) as title,
         name || '/' || partner_id as label,
         access_token::text as access_token, 'CRM' as source_system
    from sale_order
   where state not in ('draft', 'cancel') and amount_total >= 0 and date_order > '2000-01-01'
   order by sale_order.id`;

const actualOrders = `
  select cast(crm_order_id as char) as crm_order_id, order_ref, cast(customer_id as char) as customer_id,
         state, date_format(ordered_at, '%Y-%m-%d %H:%i:%s.%f') as ordered_at,
         date_format(due_at, '%Y-%m-%d %H:%i:%s.%f') as due_at, cast(amount_total as char) as amount_total,
         currency, priority, plant_code, title, label, access_token, source_system
    from stg_production_order order by stg_production_order.crm_order_id`;

/** stg_production_order_line, from a hash-partitioned table read through its root. */
const expectedLines = `
  select id::text as crm_line_id, order_id::text as crm_order_id, product_id::text as material_id,
         sequence::text as position, left(btrim(name), 255) as description,
         product_uom_qty::text as quantity, price_unit::text as unit_price,
         coalesce(discount, 0)::numeric(5, 2)::text as discount_pct, line_uom as uom,
         customer_lead::text as lead_days
    from sale_order_line
   where is_downpayment <> true and sequence < 100000 and customer_lead <= 365
   order by sale_order_line.id`;

const actualLines = `
  select cast(crm_line_id as char) as crm_line_id, cast(crm_order_id as char) as crm_order_id,
         cast(material_id as char) as material_id, cast(position as char) as position, description,
         cast(quantity as char) as quantity, cast(unit_price as char) as unit_price,
         cast(discount_pct as char) as discount_pct, uom, cast(lead_days as char) as lead_days
    from stg_production_order_line order by stg_production_order_line.crm_line_id`;

describe('millrace backfill of the reference CRM', () => {
  let dbs: TestDatabases;

  beforeAll(async () => {
    dbs = await createTestDatabases('backfill_reference');
    await loadCrmFixture(dbs.pg, 400);
    await migrateReferenceStaging(dbs);
  });

  afterAll(async () => {
    await dbs?.drop();
  });

  async function sourceCount(sql: string): Promise<number> {
    return Number((await dbs.pg.query(`select count(*) as n from ${sql}`)).rows[0].n);
  }

  async function targetCount(sql: string): Promise<number> {
    const [rows] = await dbs.mysql.query(`select count(*) as n from ${sql}`);
    return Number((rows as { n: string }[])[0]!.n);
  }

  it('loads every reference mapping, partitioned table included, as the CRM holds it', async () => {
    const env = cliEnv({
      CRM_DATABASE_URL: dbs.crmUrl,
      MES_DATABASE_URL: dbs.mesUrl,
      MILLRACE_MAPPINGS: referenceMappingsDir,
      MILLRACE_SLOT: 'mrt_no_slot',
    });
    const result = await runCli(['backfill', '--chunk-size', '250'], env);
    expect(result.code, result.stderr).toBe(0);

    const orders = await dbs.pg.query(expectedOrders);
    const [orderRows] = await dbs.mysql.query(actualOrders);
    expect(orderRows).toEqual(orders.rows);
    const lines = await dbs.pg.query(expectedLines);
    const [lineRows] = await dbs.mysql.query(actualLines);
    expect(lineRows).toEqual(lines.rows);

    // The fan-out of res_partner, and the materials, by their filters.
    expect(await targetCount('stg_customer where is_deleted = 0')).toBe(
      await sourceCount('res_partner where is_company or parent_id is null'),
    );
    expect(await targetCount('stg_customer_contact')).toBe(
      await sourceCount(`res_partner where parent_id is not null and company_type = 'person'`),
    );
    expect(await targetCount('stg_material')).toBe(await sourceCount('product_product'));

    const progress = await backfillRows(dbs);
    const read = {
      customers: await sourceCount('res_partner'),
      customer_contacts: await sourceCount('res_partner'),
      materials: await sourceCount('product_product'),
      production_orders: await sourceCount('sale_order'),
      production_order_lines: await sourceCount('sale_order_line'),
    };
    expect([...progress.keys()].sort()).toEqual(Object.keys(read).sort());
    for (const [mapping, rows] of Object.entries(read)) {
      expect(progress.get(mapping), mapping).toMatchObject({ status: 'done', mode: 'offline' });
      expect(Number(progress.get(mapping)!.rows_read), mapping).toBe(rows);
    }
    // The estimate of a partitioned table sums its partitions (ANALYZEd by the seed).
    const [total] = await dbs.mysql.query(
      `select rows_total from millrace_backfills where mapping_name = 'production_order_lines'`,
    );
    expect(Number((total as { rows_total: string }[])[0]!.rows_total)).toBe(
      read.production_order_lines,
    );
    const [letters] = await dbs.mysql.query('select count(*) as n from millrace_dead_letters');
    expect(Number((letters as { n: string }[])[0]!.n)).toBe(0);
  });
});
