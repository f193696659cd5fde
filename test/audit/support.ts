import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { type AuditReport, auditReportSchema } from '../../src/audit/audit-report.js';
import { type CliResult, runCli } from '../support/cli.js';

/** Runs `millrace audit` with `args` in `env`. */
export function audit(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return runCli(['audit', ...args], env);
}

/** Runs `millrace audit --format json`, checks the exit code and parses the report with the zod schema. */
export async function auditJson(
  env: NodeJS.ProcessEnv,
  expectedCode: number,
  args: readonly string[] = [],
): Promise<{ report: AuditReport; result: CliResult }> {
  const result = await audit(['--format', 'json', ...args], env);
  if (result.code !== expectedCode) {
    throw new Error(
      `audit exited ${result.code}, expected ${expectedCode}:\n${result.stderr}\n${result.stdout}`,
    );
  }
  const report = auditReportSchema.parse(JSON.parse(result.stdout));
  return { report, result };
}

export function mappingOf(report: AuditReport, name: string): AuditReport['mappings'][number] {
  const mapping = report.mappings.find((candidate) => candidate.name === name);
  expect(mapping, `mapping ${name} in the report`).toBeDefined();
  return mapping!;
}

/** The counts of a mapping, without samples, for compact expectations. */
export function countsOf(report: AuditReport, name: string) {
  const { sourceRows, targetRows, matched, missing, extra, different } = mappingOf(report, name);
  return { sourceRows, targetRows, matched, missing, extra, different };
}

export const chromiumPath = '/usr/bin/chromium';

/**
 * Opens a local HTML file in headless Chromium (Debian's package; scripts/test.sh installs it) and
 * returns the DOM after load, saving a screenshot. Flags keep it offline and quiet: no network
 * services, no first-run or sync, a throw-away profile.
 */
export function renderInChromium(htmlFile: string, screenshot: string): string {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `${chromiumPath} is missing: apt-get install -y chromium (scripts/test.sh does it)`,
    );
  }
  mkdirSync(path.dirname(screenshot), { recursive: true });
  const profile = mkdtempSync(path.join(tmpdir(), 'millrace-chromium-'));
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
  ];
  const url = `file://${path.resolve(htmlFile)}`;
  try {
    const dom = spawnSync(chromiumPath, [...flags, '--dump-dom', url], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (dom.status !== 0) throw new Error(`chromium --dump-dom failed: ${dom.stderr}`);
    const shot = spawnSync(
      chromiumPath,
      [
        ...flags,
        '--window-size=1400,1800',
        '--hide-scrollbars',
        `--screenshot=${path.resolve(screenshot)}`,
        url,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (shot.status !== 0) throw new Error(`chromium --screenshot failed: ${shot.stderr}`);
    return dom.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Writes text to a temporary file and returns its path. */
export function tempFile(name: string, text?: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-audit-'));
  const file = path.join(dir, name);
  if (text !== undefined) writeFileSync(file, text);
  return file;
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
