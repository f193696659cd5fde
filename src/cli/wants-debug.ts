/** Whether stack traces were asked for, readable even when configuration itself failed. */
export function wantsDebug(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  const index = argv.findIndex((arg) => arg === '--log-level' || arg.startsWith('--log-level='));
  const fromFlag =
    index === -1
      ? undefined
      : argv[index]!.includes('=')
        ? argv[index]!.split('=')[1]
        : argv[index + 1];
  const level = fromFlag ?? env.MILLRACE_LOG_LEVEL;
  return level === 'debug' || level === 'trace';
}
