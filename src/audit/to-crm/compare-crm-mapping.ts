import { type MesKey, readMesRange } from '../../mysql/mes-rows.js';
import type { MysqlConnection } from '../../mysql/mysql-client.js';
import type { PgClient } from '../../postgres/pg-client.js';
import type { PgStatement } from '../../postgres/sink/sql/statement.js';
import type { TargetValue } from '../../values/column-types.js';
import { type CompareRows, type CrmScope, compareStatement } from './compare-statement.js';
import type { CrmAuditModel } from './crm-audit-model.js';
import { type CrmImage, compileCrmImage } from './crm-images.js';
import { type CrmStatus, type CrmTally, type CrmVerdict, verdictOf } from './crm-tally.js';
import { clearScratch, loadScratch } from './scratch-table.js';

/** The two connections a to-crm comparison reads: the MES (source) and the CRM (target). */
export interface CrmSides {
  readonly mes: MysqlConnection;
  readonly crm: PgClient;
}

/** Loads images into the (empty or accumulating) session table; returns the expected rows loaded. */
async function load(
  crm: PgClient,
  model: CrmAuditModel,
  images: readonly CrmImage[],
): Promise<number> {
  const expected = images.filter((image) => image.kind === 'expected').length;
  return expected - (await loadScratch(crm, model, images));
}

async function query(crm: PgClient, statement: PgStatement): Promise<unknown[][]> {
  const result = await crm.query({
    text: statement.text,
    values: [...statement.values],
    rowMode: 'array',
  });
  return result.rows;
}

/** Runs the comparison of the session table with `scope`; rows per key not matched (or all). */
export async function compareScope(
  crm: PgClient,
  model: CrmAuditModel,
  scope: CrmScope,
  rows?: CompareRows,
): Promise<CrmVerdict[]> {
  const found = await query(crm, compareStatement(model, scope, rows));
  return found.map((row) => verdictOf(model, row));
}

/**
 * The whole table at once: the counts per status first, then only as many differing rows as
 * the tally keeps, so a table that differs everywhere does not come back whole.
 */
async function compareWhole(crm: PgClient, model: CrmAuditModel, tally: CrmTally): Promise<void> {
  const counts = new Map<CrmStatus, number>();
  for (const [status, count] of await query(
    crm,
    compareStatement(model, { kind: 'all' }, { kind: 'counts' }),
  )) {
    counts.set(String(status) as CrmStatus, Number(count));
  }
  const limit = tally.room();
  const verdicts =
    limit > 0
      ? await compareScope(crm, model, { kind: 'all' }, { kind: 'differences', limit })
      : [];
  tally.recordCounted(counts, verdicts);
}

/**
 * One full comparison of a to-crm mapping. The MES table is read in keyset chunks and each chunk
 * mapped through the compiled mapping into the session table. When the key orders alike on both
 * sides, each chunk is compared with the CRM rows of its key range and the table emptied again
 * (memory and session table bounded by a chunk); otherwise the whole table is loaded and compared
 * once. Returns the MES rows read.
 */
export async function compareCrmPass(
  sides: CrmSides,
  model: CrmAuditModel,
  tally: CrmTally,
  chunkSize: number,
): Promise<number> {
  const { mes, crm } = sides;
  const image = compileCrmImage(model);
  const keyCount = model.keyColumns.length;
  await clearScratch(crm, model);
  let read = 0;
  let expected = 0;
  let after: readonly TargetValue[] | undefined;
  let open = true;
  for (let from: MesKey | undefined, full = true; full; ) {
    const rows = await readMesRange(mes, model.read, {
      ...(from ? { after: from } : {}),
      limit: chunkSize,
    });
    if (rows.length === 0) break;
    full = rows.length === chunkSize;
    from = model.mapping.sourceKeyColumns.map((column) => String(rows.at(-1)![column]));
    read += rows.length;
    const images = rows.map(image).filter((row): row is CrmImage => row !== undefined);
    expected += await load(crm, model, images);
    if (!model.ordered) continue;
    const last = images.at(-1)?.values.slice(0, keyCount);
    // A full chunk whose rows all lack a key merges into the next chunk's range.
    if (full && last === undefined) continue;
    const upTo = full ? last : undefined;
    tally.recordPass(expected, await compareScope(crm, model, { kind: 'range', after, upTo }));
    await clearScratch(crm, model);
    expected = 0;
    after = upTo;
    open = upTo !== undefined;
  }
  if (!model.ordered) {
    await compareWhole(crm, model, tally);
  } else if (open) {
    // CRM rows past the last MES key (or all of them, with no MES row at all) are extra.
    tally.recordPass(
      expected,
      await compareScope(crm, model, { kind: 'range', after, upTo: undefined }),
    );
  }
  await clearScratch(crm, model);
  return read;
}
