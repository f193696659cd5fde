import { expect } from 'vitest';
import type { TestDatabases } from './databases.js';
import type { RunningCli } from './replication.js';
import { markerCrm, markerMes, runCaughtUp } from './run-marker.js';
import { createSchemas } from './schemas.js';

/** 20,000 characters PostgreSQL cannot compress: stored out of line, sent as "unchanged". */
export const noise = `(select string_agg(md5(random()::text || g::text), '') from generate_series(1, 625) g)`;

/**
 * `memo` with a body stored out of line without compression (so an update that does not touch
 * it sends "unchanged"), `stg_memo`, and the marker table.
 */
export async function createMemoTables(dbs: TestDatabases): Promise<void> {
  await createSchemas(
    dbs,
    `create table memo (id int primary key, state text not null, body text); ${markerCrm};
     alter table memo alter column body set storage external`,
    [
      'create table stg_memo (memo_id int primary key, state varchar(20), body mediumtext)',
      markerMes,
    ],
  );
}

const targetDigests = `select cast(memo_id as char) as id, state, md5(body) as body from stg_memo order by memo_id`;

/** Waits for `run` to catch up, then compares body digests with `sourceDigests` (memo, by id). */
export async function expectMemos(
  dbs: TestDatabases,
  run: RunningCli | undefined,
  sourceDigests: string,
): Promise<void> {
  await runCaughtUp(dbs, run);
  const [target] = await dbs.mysql.query(targetDigests);
  expect(target).toEqual((await dbs.pg.query(sourceDigests)).rows);
}
