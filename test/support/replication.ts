import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type CliResult, cliEnv, finished, startCli } from './cli.js';
import type { TestDatabases } from './databases.js';

/** A unique slot/publication name for one test, inside the test's own database. */
export function uniqueName(label: string): string {
  return `${label}_${randomBytes(4).toString('hex')}`;
}

/** Creates a publication over `tables` and a pgoutput slot, as `millrace setup` would. */
export async function createReplication(
  dbs: TestDatabases,
  name: string,
  tables: readonly string[],
): Promise<void> {
  await dbs.pg.query(
    `create publication ${name} for table ${tables.join(', ')} with (publish_via_partition_root = true)`,
  );
  await dbs.pg.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [name]);
}

/** Writes mapping YAML files into a fresh temporary directory and returns it. */
export function writeMappings(files: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-mappings-'));
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  return dir;
}

/** Environment for a CLI run against the test databases. */
export function replicationEnv(
  dbs: TestDatabases,
  name: string,
  mappingsDir: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return cliEnv({
    CRM_DATABASE_URL: dbs.crmUrl,
    MES_DATABASE_URL: dbs.mesUrl,
    MILLRACE_MAPPINGS: mappingsDir,
    MILLRACE_SLOT: name,
    MILLRACE_PUBLICATION: name,
    MILLRACE_LOG_LEVEL: 'info',
    ...extra,
  });
}

/** A running `millrace run`, with its output collected. */
export interface RunningCli {
  readonly child: ChildProcess;
  readonly done: Promise<CliResult>;
  /** The output so far (stderr carries the JSON log lines). */
  output(): string;
}

export function startRun(args: readonly string[], env: NodeJS.ProcessEnv): RunningCli {
  const child = startCli(['run', ...args], env);
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  const done = finished(child);
  return { child, done, output: () => text };
}

/** Polls `probe` until it returns true, or fails after `timeoutMs` with `what`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Stops a running CLI with SIGTERM and returns its result. */
export async function stopRun(run: RunningCli): Promise<CliResult> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  return run.done;
}

/** Kills a running CLI if it is still there (test clean-up). */
export function killRun(run: RunningCli | undefined): void {
  if (run && run.child.exitCode === null && run.child.signalCode === null)
    run.child.kill('SIGKILL');
}

/**
 * Drops a test's slot and publication (a slot pins WAL, and the server has few of them). Waits for
 * a killed replicator's walsender to go away first.
 */
export async function dropReplication(dbs: TestDatabases, name: string): Promise<void> {
  await waitFor(`slot ${name} to be released`, async () => {
    const { rows } = await dbs.pg.query<{ active: string }>(
      'select active from pg_replication_slots where slot_name = $1',
      [name],
    );
    if (rows[0]?.active === 't') {
      await dbs.pg.query(
        'select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1 and active_pid is not null',
        [name],
      );
      return false;
    }
    return true;
  });
  await dbs.pg.query(
    'select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1',
    [name],
  );
  await dbs.pg.query(`drop publication if exists ${name}`);
}

/** Ends a test's `run` if it is still there, and waits for it to exit. */
export async function endRun(run: RunningCli | undefined): Promise<void> {
  killRun(run);
  await run?.done;
}

/** Waits until a started `run` logged that it replicates. */
export async function waitForReplicating(run: RunningCli, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    'the replicator to start',
    async () => run.output().includes('replicator replicating'),
    timeoutMs,
  );
}

let marker = 0;

/**
 * Waits until everything committed on the CRM so far is applied on the MES: bumps the row of
 * `sync_marker` (id, n) and waits for it in `stg_sync_marker`, which a mapping copies. Whole
 * source transactions apply in commit order, so when it arrives, everything before it has.
 */
export async function catchUp(dbs: TestDatabases, timeoutMs: number): Promise<void> {
  marker++;
  const expected = marker;
  await dbs.pg.query(
    'insert into sync_marker values (1, $1) on conflict (id) do update set n = excluded.n',
    [expected],
  );
  await waitFor(
    `marker ${expected} on the MES`,
    async () => {
      const [rows] = await dbs.mysql.query('select n from stg_sync_marker where id = 1');
      return (rows as { n: number }[])[0]?.n === expected;
    },
    timeoutMs,
  );
}

/**
 * The slots and publications a test file opens, each over empty tables, dropped after each test
 * (call `dropAll` in afterEach, so a failed test leaves none behind).
 */
export class TestStreams {
  private readonly opened: string[] = [];

  constructor(
    private readonly options: {
      /** Prefix of the slot and publication names. */
      readonly label: string;
      /** Published, and emptied before each stream. */
      readonly sourceTables: readonly string[];
      /** Emptied before each stream (staging and control tables). */
      readonly targetTables: readonly string[];
    },
  ) {}

  /** Empty tables on both sides, and a fresh slot and publication over the source tables. */
  async fresh(dbs: TestDatabases): Promise<string> {
    const name = uniqueName(this.options.label);
    await dbs.pg.query(`truncate ${this.options.sourceTables.join(', ')}`);
    for (const table of this.options.targetTables) await dbs.mysql.query(`delete from ${table}`);
    this.opened.push(name);
    await createReplication(dbs, name, this.options.sourceTables);
    return name;
  }

  async dropAll(dbs: TestDatabases): Promise<void> {
    for (const name of this.opened.splice(0)) await dropReplication(dbs, name);
  }
}

/**
 * Ends a test file's one stream (afterAll): its `run` if still there, its slot and publication,
 * and its databases.
 */
export async function endStream(
  dbs: TestDatabases | undefined,
  name: string,
  run: RunningCli | undefined,
): Promise<void> {
  await endRun(run);
  if (dbs) await dropReplication(dbs, name);
  await dbs?.drop();
}
