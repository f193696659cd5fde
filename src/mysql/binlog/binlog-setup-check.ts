import type { BinlogQuery } from './binlog-files.js';

/** One thing the MES server or user lacks for the return path, with the fix. */
export interface BinlogSetupProblem {
  readonly check: 'log_bin' | 'binlog_format' | 'binlog_row_image' | 'privilege';
  /** One line: what is wrong and how to fix it. */
  readonly message: string;
}

interface ServerSettings {
  readonly logBin: string | number | null;
  readonly format: string | null;
  readonly image: string | null;
  readonly version: string;
  readonly user: string;
}

/**
 * What `setup` checks before a to-crm mapping can stream: the binary log on, in ROW format with
 * FULL row images (the return path needs every column of every changed row, as events), and
 * the user allowed to read it as a replica (REPLICATION SLAVE) and to list the binlog files
 * (BINLOG MONITOR on MariaDB, REPLICATION CLIENT on MySQL). Empty when all is well.
 */
export async function checkBinlogSetup(connection: BinlogQuery): Promise<BinlogSetupProblem[]> {
  const [settingRows] = await connection.query(
    'SELECT @@log_bin AS logBin, @@binlog_format AS format, @@binlog_row_image AS image, VERSION() AS version, CURRENT_USER() AS user',
  );
  const settings = (settingRows as ServerSettings[])[0];
  if (!settings) throw new Error('the MES answered no server settings');
  const [grantRows] = await connection.query('SHOW GRANTS');
  const privileges = globalPrivileges(grantRows as Record<string, string>[]);
  return [...settingProblems(settings), ...privilegeProblems(settings, privileges)];
}

function settingProblems(settings: ServerSettings): BinlogSetupProblem[] {
  const problems: BinlogSetupProblem[] = [];
  if (String(settings.logBin) !== '1' && String(settings.logBin).toUpperCase() !== 'ON') {
    problems.push({
      check: 'log_bin',
      message:
        'the MES binary log is off: start the server with log_bin (e.g. `log_bin = mariadb-bin` and a server_id in its [mariadbd] configuration) and restart it',
    });
    return problems;
  }
  if (settings.format?.toUpperCase() !== 'ROW') {
    problems.push({
      check: 'binlog_format',
      message: `the MES binlog_format is ${settings.format}: the return path needs ROW; set \`binlog_format = ROW\` in the server's configuration (and \`SET GLOBAL binlog_format = 'ROW'\` for the running server)`,
    });
  }
  if (settings.image?.toUpperCase() !== 'FULL') {
    problems.push({
      check: 'binlog_row_image',
      message: `the MES binlog_row_image is ${settings.image}: the return path needs FULL; set \`binlog_row_image = FULL\` in the server's configuration (and \`SET GLOBAL binlog_row_image = 'FULL'\` for the running server)`,
    });
  }
  return problems;
}

function privilegeProblems(
  settings: ServerSettings,
  privileges: ReadonlySet<string>,
): BinlogSetupProblem[] {
  if (privileges.has('ALL PRIVILEGES')) return [];
  const mariadb = /mariadb/i.test(settings.version);
  const monitor = mariadb ? 'BINLOG MONITOR' : 'REPLICATION CLIENT';
  const user = quoteUser(settings.user);
  const problems: BinlogSetupProblem[] = [];
  if (!privileges.has('REPLICATION SLAVE')) {
    problems.push({
      check: 'privilege',
      message: `the MES user ${user} cannot read the binlog as a replica: GRANT REPLICATION SLAVE ON *.* TO ${user}`,
    });
  }
  // MariaDB shows REPLICATION CLIENT as its newer name; SUPER still allows SHOW BINARY LOGS.
  if (
    !privileges.has(monitor) &&
    !privileges.has('REPLICATION CLIENT') &&
    !privileges.has('SUPER')
  ) {
    problems.push({
      check: 'privilege',
      message: `the MES user ${user} cannot list the binlog files: GRANT ${monitor} ON *.* TO ${user}`,
    });
  }
  return problems;
}

/** The privileges granted on `*.*`, from SHOW GRANTS lines. */
function globalPrivileges(rows: readonly Record<string, string>[]): Set<string> {
  const privileges = new Set<string>();
  for (const row of rows) {
    for (const line of Object.values(row)) {
      const match = /^GRANT (.+?) ON \*\.\* TO /i.exec(line);
      for (const privilege of match?.[1]?.split(',') ?? [])
        privileges.add(privilege.trim().toUpperCase());
    }
  }
  return privileges;
}

/** `root@127.0.0.1` as a GRANT names it: `'root'@'127.0.0.1'`. */
function quoteUser(user: string): string {
  const at = user.lastIndexOf('@');
  return at < 0 ? `'${user}'` : `'${user.slice(0, at)}'@'${user.slice(at + 1)}'`;
}
