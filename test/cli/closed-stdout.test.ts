import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnv, cliPath } from '../support/cli.js';

/** `millrace … | head`: the reader leaves early; the command ends quietly, as Unix tools do. */
function runIntoClosedPipe(entry: string, args: readonly string[]) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(entry, [...args], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // Gone before the first line, as a `head` that already exited.
    child.stdout.destroy();
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('stdout closed by its reader', () => {
  for (const [name, entry] of [
    ['main.js', cliPath],
    ['bin/millrace', path.resolve('bin/millrace')],
  ] as const) {
    it(`${name}: a long help ends without a stack trace`, async () => {
      const result = await runIntoClosedPipe(entry, ['backfill', '--help']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    });
  }
});
