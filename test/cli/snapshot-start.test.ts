import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCrmFixture, migrateReferenceStaging } from '../fixtures/crm-fixture.js';
import { type CliResult, cliEnv, finished, runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { dropReplication, waitFor } from '../support/replication.js';

/**
 * bin/millrace starts the commands it can from the startup snapshot `npm run build` makes (README
 * "CLI start-up"), and from main.js otherwise. Both must print and exit alike; the wrapper must
 * use the snapshot only with the node binary, V8 flags and compiled entry it was built from.
 */

const bin = path.resolve('bin/millrace');
const cliDir = path.resolve('dist/src/cli');
const blob = path.join(cliDir, 'main.snapshot.blob');
const stamp = path.join(cliDir, 'main.snapshot.stamp');

function runBin(
  binPath: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<CliResult> {
  return finished(spawn(binPath, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/**
 * A database pair of its own holding the reference example (CRM fixture, migrated staging), made
 * before the describe's tests and dropped after, and the CLI environment that points at it.
 */
function referencePair(
  name: string,
  extra: (dbs: TestDatabases) => NodeJS.ProcessEnv = () => ({}),
) {
  const pair: { dbs?: TestDatabases } = {};
  beforeAll(async () => {
    pair.dbs = await createTestDatabases(name);
    await loadCrmFixture(pair.dbs.pg, 5);
    await migrateReferenceStaging(pair.dbs);
  });
  afterAll(async () => {
    await pair.dbs?.drop();
  });
  const dbs = () => pair.dbs!;
  const env = () =>
    cliEnv({
      CRM_DATABASE_URL: dbs().crmUrl,
      MES_DATABASE_URL: dbs().mesUrl,
      MILLRACE_MAPPINGS: 'mappings',
      ...extra(dbs()),
    });
  return { dbs, env };
}

describe('bin/millrace from the snapshot, against a live pair', () => {
  const { dbs, env } = referencePair('cli_snapshot');

  /** Positions that other work on the servers moves between two runs. */
  const steady = (text: string) =>
    text
      .replace(/\b[0-9A-F]{1,8}\/[0-9A-F]{1,8}\b/g, '<lsn>')
      .replace(/\b(\w+-bin\.\d+):\d+ \(GTID [\d-]+\)/g, '$1:<pos>')
      .replace(/("(?:currentLsn|position|gtid|file)": )("[^"]*"|\d+)/g, '$1"<pos>"');

  it('was built by `npm run build` for this node', () => {
    expect(existsSync(blob)).toBe(true);
    expect(readFileSync(stamp, 'utf8')).toContain(process.execPath);
  });

  it.each([
    '--help',
    '--version',
    'help status',
    'run --help',
    'mappings check',
    'mappings check --json',
    'status',
    'status --json',
    'status --bogus',
    'mappings bogus',
    'dead-letters list',
    // Handed on to main.js from the snapshot (a word sends them there; they are not served).
    'dead-letters list --slot status',
    'mappings scaffold res_partner',
  ])('millrace %s prints and exits as main.js does', async (command) => {
    const args = command.split(' ');
    const plain = await runCli(args, env());
    const snapshot = await runBin(bin, args, env());
    expect(snapshot.code).toBe(plain.code);
    expect(steady(snapshot.stdout)).toBe(steady(plain.stdout));
    expect(snapshot.stderr).toBe(plain.stderr);
  });

  it('takes the default user from the environment of the run, not of the build', async () => {
    // pg reads $USER as it loads, and it loaded while the snapshot was built.
    const url = new URL(dbs().crmUrl);
    const user = url.username;
    url.username = '';
    const asUser = { ...env(), CRM_DATABASE_URL: url.toString(), USER: user };
    const plain = await runCli(['status', '--json'], asUser);
    const snapshot = await runBin(bin, ['status', '--json'], asUser);
    expect(plain.stderr).toBe('');
    expect(snapshot.code).toBe(plain.code);
    expect(steady(snapshot.stdout)).toBe(steady(plain.stdout));
    expect(snapshot.stderr).toBe(plain.stderr);
  });

  it('hands a run that reaches the snapshot to main.js, which stops on SIGTERM with exit 0', async () => {
    // `--mappings mappings` is a word the wrapper sends to the snapshot; run is not served there.
    const name = `${dbs().crmName}_run`;
    const runEnv = { ...env(), MILLRACE_SLOT: name, MILLRACE_PUBLICATION: name };
    let run: ChildProcess | undefined;
    try {
      expect((await runCli(['setup'], runEnv)).code).toBe(0);
      run = spawn(bin, ['run', '--direction', 'to-mes', '--mappings', 'mappings'], {
        env: runEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const done = finished(run);
      let log = '';
      run.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString('utf8');
      });
      await waitFor('the replicator to start', async () => log.includes('replicator replicating'));
      run.kill('SIGTERM');
      const result = await done;
      expect(result.code).toBe(0);
      expect(log).toContain('replicator stopping');
    } finally {
      if (run && run.exitCode === null && run.signalCode === null) run.kill('SIGKILL');
      await dropReplication(dbs(), name);
    }
  });
});

describe('bin/millrace audit and backfill from the snapshot, against a live pair', () => {
  const { env } = referencePair('cli_snapshot_audit', (pair) => ({
    MILLRACE_SLOT: pair.crmName,
  }));

  /** What differs between two runs on the same data: clock, durations, rates, positions. */
  const steady = (text: string) =>
    text
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z/g, '<time>')
      .replace(/\(\d+\.\d s\)/g, '(<seconds>)')
      .replace(/\b[0-9A-F]{1,8}\/[0-9A-F]{1,8}\b/g, '<lsn>')
      .replace(/\b(\w+-bin\.\d+):\d+/g, '$1:<pos>')
      .replace(/"(seconds|rowsPerSecond|etaSeconds)":[\d.]+/g, '"$1":<n>')
      // The backfill table's last two columns: seconds and rows/s.
      .replace(/ +\d+\.\d +\d+$/gm, ' <timing>');

  async function expectAlike(args: readonly string[], code: number): Promise<void> {
    const plain = await runCli(args, env());
    const snapshot = await runBin(bin, args, env());
    expect(plain.code).toBe(code);
    expect(snapshot.code).toBe(plain.code);
    expect(steady(snapshot.stdout)).toBe(steady(plain.stdout));
    expect(steady(snapshot.stderr)).toBe(steady(plain.stderr));
  }

  // In this order: the pair differs (nothing copied yet), then a backfill makes it consistent.
  it.each(['audit', 'audit --format json', 'audit --table materials --samples 2'])(
    'millrace %s on a differing pair exits 1 as main.js does',
    async (command) => {
      await expectAlike(command.split(' '), 1);
    },
  );

  it('millrace backfill copies and reports as main.js does', async () => {
    // A first copy, so that both runs compared start from the same state: every row already
    // there, and --restart to copy them all again.
    expect((await runCli(['backfill'], env())).code).toBe(0);
    await expectAlike(['backfill', '--restart'], 0);
    await expectAlike(['backfill', '--restart', '--table', 'materials'], 0);
  });

  it.each(['audit', 'audit --format json', 'audit --format markdown --log-level warn'])(
    'millrace %s on a consistent pair exits 0 as main.js does',
    async (command) => {
      await expectAlike(command.split(' '), 0);
    },
  );

  // util-linux's `script` gives the command a terminal: what the snapshot must not have frozen.
  const hasScript = spawnSync('script', ['--version']).status === 0;

  it.skipIf(!hasScript)(
    'on a terminal, logs readable lines and draws the progress bar as main.js does',
    async () => {
      const onTerminal = async (entry: string) => {
        const terminalEnv = env();
        delete terminalEnv.CI;
        const line = `'${entry}' backfill --restart --table materials`;
        const result = await finished(
          spawn('script', ['-qec', line, '/dev/null'], {
            env: terminalEnv,
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
        );
        expect(result.code).toBe(0);
        const text = result.stdout.replace(/\r/g, '');
        // The bar's frames depend on timing; its last one and everything else must not.
        expect(text).toContain('\u001b[?25l');
        expect(text).toMatch(/materials \|\u2588+\| 100% \| 10\/10 rows/);
        const lines = text.split('\n').filter((l) => !l.includes('\u001b') && !l.includes('|'));
        return steady(lines.join('\n').replace(/^\[\d\d:\d\d:\d\d\.\d{3}\]/gm, '[<time>]'));
      };
      const plain = await onTerminal(path.resolve('dist/src/cli/main.js'));
      expect(plain).toContain('WARN: the replication slot does not exist yet');
      expect(await onTerminal(bin)).toBe(plain);
    },
  );
});

describe('bin/millrace chooses the snapshot only when it matches', () => {
  // A copy of the layout with a stand-in main.js: whichever entry ran shows in the output.
  let root: string;
  let fakeBin: string;
  let fakeEntry: string;
  const realStamp = () => readFileSync(stamp, 'utf8');

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'millrace-bin-'));
    const fakeCli = path.join(root, 'dist/src/cli');
    mkdirSync(path.join(root, 'bin'));
    mkdirSync(fakeCli, { recursive: true });
    fakeBin = path.join(root, 'bin/millrace');
    fakeEntry = path.join(fakeCli, 'main.js');
    copyFileSync(bin, fakeBin);
    copyFileSync(blob, path.join(fakeCli, 'main.snapshot.blob'));
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  /** Lays out the stand-in entry (older than the blob unless `entryIsNewer`) and the stamp. */
  function layOut(stampText: string | undefined, entryIsNewer = false): void {
    const shebang = readFileSync(path.join(cliDir, 'main.js'), 'utf8').split('\n', 1)[0];
    writeFileSync(
      fakeEntry,
      `${shebang}\nconsole.log('plain entry:', process.argv.slice(2).join(' '));\n`,
      {
        mode: 0o755,
      },
    );
    const stampPath = path.join(root, 'dist/src/cli/main.snapshot.stamp');
    rmSync(stampPath, { force: true });
    if (stampText !== undefined) writeFileSync(stampPath, stampText);
    const now = Date.now() / 1000;
    utimesSync(path.join(root, 'dist/src/cli/main.snapshot.blob'), now, now);
    const entryTime = entryIsNewer ? now + 60 : now - 60;
    utimesSync(fakeEntry, entryTime, entryTime);
  }

  it('starts from the snapshot when node, stamp and entry match', async () => {
    layOut(realStamp());
    const result = await runBin(fakeBin, ['--help'], cliEnv());
    expect(result.stdout).toContain('Usage: millrace');
    expect(result.code).toBe(0);
  });

  it.each([
    ['another node binary', () => `0:0 1 2\n${realStamp()}`, false, {}],
    ['no stamp', () => undefined, false, {}],
    ['an entry compiled after the snapshot', realStamp, true, {}],
    ['NODE_OPTIONS', realStamp, false, { NODE_OPTIONS: '--no-warnings' }],
    ['NODE_DEBUG', realStamp, false, { NODE_DEBUG: 'net' }],
  ])('falls back to main.js for %s', async (_, stampText, entryIsNewer, extra) => {
    layOut(stampText(), entryIsNewer);
    const result = await runBin(fakeBin, ['--help'], cliEnv(extra));
    expect(result.stdout).toBe('plain entry: --help\n');
    expect(result.code).toBe(0);
  });

  it.each(['status', 'mappings check', 'audit', 'backfill'])(
    'sends %s to the snapshot',
    async (command) => {
      layOut(realStamp());
      const result = await runBin(fakeBin, [...command.split(' '), '--help'], cliEnv());
      expect(result.stdout).toContain(`Usage: millrace ${command}`);
      expect(result.code).toBe(0);
    },
  );

  it('sends the commands the snapshot does not serve to main.js directly', async () => {
    layOut(realStamp());
    const result = await runBin(fakeBin, ['run', '--direction', 'to-mes'], cliEnv());
    expect(result.stdout).toBe('plain entry: run --direction to-mes\n');
  });

  it('runs main.js when there is no snapshot', async () => {
    layOut(realStamp());
    rmSync(path.join(root, 'dist/src/cli/main.snapshot.blob'));
    const result = await runBin(fakeBin, ['status'], cliEnv());
    expect(result.stdout).toBe('plain entry: status\n');
  });
});
