import path from 'node:path';
import { describeError, RuntimeFailure } from '../errors/millrace-error.js';

/**
 * Runs one knex `migrate.latest` and returns the names it applied; a failure becomes
 * MIGRATION_FAILED naming which set (`label`) failed.
 */
export async function runMigrations(
  label: string,
  run: () => Promise<[number, string[]]>,
): Promise<string[]> {
  try {
    const [, applied] = await run();
    return applied.map((name) => path.basename(name));
  } catch (error) {
    throw new RuntimeFailure(
      'MIGRATION_FAILED',
      `${label} migration failed: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
}
