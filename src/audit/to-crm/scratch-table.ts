import { isRowDataError } from '../../errors/classify-error.js';
import { describeError } from '../../errors/millrace-error.js';
import { type PgClient, quotePgIdent } from '../../postgres/pg-client.js';
import { maxParams } from '../../postgres/sink/sink-statements.js';
import { Params, quoteTargetTable } from '../../postgres/sink/sql/statement.js';
import type { CrmAuditModel } from './crm-audit-model.js';
import type { CrmImage } from './crm-images.js';

/**
 * The session table the audit loads mapped MES rows into, so that PostgreSQL compares them with
 * the CRM table as values of the CRM's own column types. It is made from the target's columns
 * (`CREATE TABLE … AS … WITH NO DATA`), so each value is parsed by exactly the type, typmod,
 * domain or enum the sink's writes are parsed by; it has none of the target's constraints, so a
 * row the target would refuse still loads and shows up as missing.
 */

/** The bookkeeping columns beside the mapped ones. */
export const scratchColumns = Object.freeze({
  kind: '_millrace_kind',
  sourceKey: '_millrace_source_key',
  errorColumn: '_millrace_error_column',
  error: '_millrace_error',
});

const bookkeeping = Object.values(scratchColumns);

export function scratchName(model: CrmAuditModel): string {
  return `pg_temp.${quotePgIdent(model.scratch)}`;
}

export async function createScratch(client: PgClient, model: CrmAuditModel): Promise<void> {
  const columns = [...model.keyColumns, ...model.compareColumns].map(quotePgIdent).join(', ');
  await client.query(`DROP TABLE IF EXISTS ${scratchName(model)}`);
  await client.query(
    `CREATE TEMP TABLE ${quotePgIdent(model.scratch)} AS SELECT ${columns} FROM ${quoteTargetTable(model.mapping.target)} WITH NO DATA`,
  );
  await client.query(
    `ALTER TABLE ${scratchName(model)} ${bookkeeping.map((name) => `ADD COLUMN ${quotePgIdent(name)} text`).join(', ')}`,
  );
}

export async function clearScratch(client: PgClient, model: CrmAuditModel): Promise<void> {
  await client.query(`TRUNCATE ${scratchName(model)}`);
}

export async function dropScratch(client: PgClient, model: CrmAuditModel): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${scratchName(model)}`);
}

function insertStatement(model: CrmAuditModel, images: readonly CrmImage[]) {
  const columns = [...model.keyColumns, ...model.compareColumns, ...bookkeeping];
  const params = new Params();
  const tuples = images.map((image) => {
    const marks = image.values.map((value) => params.add(value));
    marks.push(params.add(image.kind), params.add(JSON.stringify(image.sourceKey)));
    marks.push(params.add(image.error?.column ?? null), params.add(image.error?.message ?? null));
    return `(${marks.join(',')})`;
  });
  return {
    text: `INSERT INTO ${scratchName(model)} (${columns.map(quotePgIdent).join(',')}) VALUES ${tuples.join(',')}`,
    values: params.values,
  };
}

/**
 * Loads the images. A batch PostgreSQL refuses (a value its type does not take) is loaded row by
 * row; a refused row is loaded as its key and the server's reason, as the sink would dead-letter
 * it, and left out when not even its key loads (no CRM row can have it). Returns how many
 * `expected` images were left out so.
 */
export async function loadScratch(
  client: PgClient,
  model: CrmAuditModel,
  images: readonly CrmImage[],
): Promise<number> {
  let left = 0;
  const perRow = model.keyColumns.length + model.compareColumns.length + bookkeeping.length;
  const rowsPerStatement = Math.max(1, Math.min(2_000, Math.floor(maxParams / perRow)));
  for (let start = 0; start < images.length; start += rowsPerStatement) {
    const batch = images.slice(start, start + rowsPerStatement);
    try {
      const statement = insertStatement(model, batch);
      await client.query(statement.text, statement.values);
    } catch (error) {
      if (!isRowDataError(error)) throw error;
      for (const image of batch) {
        if (!(await loadAlone(client, model, image)) && image.kind === 'expected') left++;
      }
    }
  }
  return left;
}

async function loadAlone(
  client: PgClient,
  model: CrmAuditModel,
  image: CrmImage,
): Promise<boolean> {
  try {
    const statement = insertStatement(model, [image]);
    await client.query(statement.text, statement.values);
    return true;
  } catch (error) {
    if (!isRowDataError(error)) throw error;
    const keyCount = model.keyColumns.length;
    const refused: CrmImage = {
      kind: image.kind,
      sourceKey: image.sourceKey,
      values: image.values.map((value, index) => (index < keyCount ? value : null)),
      error: { column: '*', message: `the CRM refuses the row: ${describeError(error)}` },
    };
    const statement = insertStatement(model, [refused]);
    try {
      await client.query(statement.text, statement.values);
      return true;
    } catch (again) {
      if (!isRowDataError(again)) throw again;
      return false;
    }
  }
}
