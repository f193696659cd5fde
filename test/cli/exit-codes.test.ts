import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type CliResult, cliEnv, runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/**
 * The exit codes (README "Exit codes"), through the built CLI as users run it: every failure is one line on
 * stderr naming the cause and the fix, with no password and no stack trace unless asked for.
 */

const password = 's3cret-pw';
const unreachable = `mysql://root:${password}@127.0.0.1:1/mes`;

function nonEmptyLines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}

/** A pino line (JSON with a level and a message), as opposed to the one failure line. */
function isLogLine(line: string): boolean {
  try {
    const parsed = JSON.parse(line) as unknown;
    return typeof parsed === 'object' && parsed !== null && 'level' in parsed && 'msg' in parsed;
  } catch {
    return false;
  }
}

function expectNoSecretsOrStack(result: CliResult): void {
  expect(result.stdout + result.stderr).not.toContain(password);
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

/** Exactly one line on stderr, and it is not a log line. */
function failureLine(result: CliResult): string {
  const lines = nonEmptyLines(result.stderr);
  expect(lines, result.stderr).toHaveLength(1);
  expect(isLogLine(lines[0]!)).toBe(false);
  return lines[0]!;
}

describe.concurrent('usage errors exit 2 with one line', () => {
  it('for an unknown command', async () => {
    const result = await runCli(['bogus']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const line = failureLine(result);
    expect(line).toMatch(/unknown command 'bogus'/);
    expect(line).toContain('millrace --help');
  });

  it('for a mistyped command, with the suggestion on the same line', async () => {
    const result = await runCli(['migrat']);
    expect(result.code).toBe(2);
    expect(failureLine(result)).toMatch(/unknown command 'migrat'.*migrate/);
  });

  it('for an unknown option', async () => {
    const result = await runCli(['migrate', '--no-such-option']);
    expect(result.code).toBe(2);
    expect(failureLine(result)).toMatch(
      /unknown option '--no-such-option'.*millrace migrate --help/,
    );
  });

  it('for a bad --target URL, naming the flag and its variable', async () => {
    const result = await runCli(['migrate', '--target', 'not-a-url']);
    expect(result.code).toBe(2);
    const line = failureLine(result);
    expect(line).toContain('--target');
    expect(line).toContain('MES_DATABASE_URL');
    expectNoSecretsOrStack(result);
  });

  it('for a bad MES_DATABASE_URL, without its password', async () => {
    const result = await runCli(
      ['migrate'],
      cliEnv({ MES_DATABASE_URL: `mysql://root:${password}@127.0.0.1:3306/` }),
    );
    expect(result.code).toBe(2);
    const line = failureLine(result);
    expect(line).toContain('--target');
    expect(line).toContain('MES_DATABASE_URL');
    expect(line).toContain('mysql://root:***@127.0.0.1:3306/');
    expectNoSecretsOrStack(result);
  });

  it('for a bad option value, even with debug logs asked for', async () => {
    const result = await runCli(['migrate', '--connect-timeout', '-1', '--log-level', 'debug']);
    expect(result.code).toBe(2);
    const lines = nonEmptyLines(result.stderr);
    expect(lines[0]).toContain('--connect-timeout');
    expect(lines[0]).toContain('MILLRACE_CONNECT_TIMEOUT');
  });
});

describe.concurrent('an unreachable MES exits 3', () => {
  it('after the connect timeout, with one failure line naming the database and the fix', async () => {
    const started = Date.now();
    const result = await runCli(['migrate', '--target', unreachable, '--connect-timeout', '1']);
    expect(result.code).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    // The retry warning is a log line; the failure itself is the one line that is not, and it
    // comes last, where a person reading the terminal looks.
    const lines = nonEmptyLines(result.stderr);
    const plain = lines.filter((line) => !isLogLine(line));
    expect(plain, result.stderr).toHaveLength(1);
    expect(lines.at(-1)).toBe(plain[0]);
    expect(plain[0]).toMatch(
      /^millrace: cannot connect to MES MySQL at mysql:\/\/root:\*\*\*@127\.0\.0\.1:1\/mes/,
    );
    expect(plain[0]).toContain('--target');
    expect(plain[0]).toContain('MES_DATABASE_URL');
    expectNoSecretsOrStack(result);
  });

  it('at once when the server refuses the login, without the password', async () => {
    const server = new URL(inject('mesServerUrl'));
    const wrongLogin = new URL(`mysql://millrace_no_such_user:${password}@127.0.0.1/mes`);
    wrongLogin.host = server.host;
    const result = await runCli([
      'migrate',
      '--target',
      wrongLogin.toString(),
      '--connect-timeout',
      '30',
    ]);
    expect(result.code).toBe(3);
    const line = failureLine(result);
    expect(line).toMatch(
      /^millrace: cannot connect to MES MySQL at mysql:\/\/millrace_no_such_user:\*\*\*@/,
    );
    expect(line).toMatch(/Access denied/i);
    expectNoSecretsOrStack(result);
  });

  it('with the stack trace at --log-level debug, still without the password', async () => {
    const result = await runCli([
      'migrate',
      '--target',
      unreachable,
      '--connect-timeout',
      '1',
      '--log-level',
      'debug',
    ]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^\s+at /m);
    expect(result.stderr).toContain('millrace: cannot connect to MES MySQL');
    expect(result.stdout + result.stderr).not.toContain(password);
  });
});

describe.concurrent('information', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it('--help lists migrate, with its example', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\s+migrate\b.*create the MES database/m);
    expect(result.stdout).toMatch(/^\s+millrace migrate\b/m);
    for (const env of ['CRM_DATABASE_URL', 'MES_DATABASE_URL', 'MILLRACE_CONNECT_TIMEOUT']) {
      expect(result.stdout).toContain(env);
    }

    const command = await runCli(['migrate', '--help']);
    expect(command.code).toBe(0);
    expect(command.stdout).toContain('Examples:');
    expect(command.stdout).toMatch(/^\s+millrace migrate --target \S+ --migrations \S+/m);
    expect(command.stdout).toContain('MILLRACE_MIGRATIONS');

    // The way the root help tells people to ask about a command.
    expect(result.stdout).toContain('millrace help <command>');
    const viaHelp = await runCli(['help', 'migrate']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toBe(command.stdout);
  });
});

describe('migrate', () => {
  let db: TestDatabases;
  let migrationsDir: string;

  beforeAll(async () => {
    db = await createTestDatabases('cli_migrate');
    migrationsDir = await mkdtemp(path.join(tmpdir(), 'millrace-cli-'));
    await writeFile(
      path.join(migrationsDir, '20240101000000_create_stg_widget.mjs'),
      `export async function up(knex) {
  await knex.schema.createTable('stg_widget', (table) => { table.integer('id').primary(); });
}
export async function down(knex) {
  await knex.schema.dropTable('stg_widget');
}
`,
    );
  });

  afterAll(async () => {
    try {
      await db?.drop();
    } finally {
      if (migrationsDir) await rm(migrationsDir, { recursive: true, force: true });
    }
  });

  it('exits 0 twice, printing what it applied and then that all is up to date', async () => {
    // The URL through the environment and the directory through its variable, as under systemd.
    const env = cliEnv({ MES_DATABASE_URL: db.mesUrl, MILLRACE_MIGRATIONS: migrationsDir });

    const first = await runCli(['migrate'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`database ${db.mesName} exists`);
    expect(first.stdout).toContain('applied control migrations: 0001_control_tables');
    expect(first.stdout).toContain(
      'applied staging migrations: 20240101000000_create_stg_widget.mjs',
    );

    const second = await runCli(['migrate'], env);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('control tables up to date');
    expect(second.stdout).toContain('staging tables up to date');
    expect(second.stdout).not.toContain('applied');

    const [rows] = await db.mysql.query(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? AND table_name = 'stg_widget'",
      [db.mesName],
    );
    expect(rows).toHaveLength(1);
  });
});
