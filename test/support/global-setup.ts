import type { TestProject } from 'vitest/node';

/**
 * Where the test databases come from: CRM_DATABASE_URL / MES_DATABASE_URL when given (CI and
 * this machine's local services), otherwise PostgreSQL and MySQL 8 started with testcontainers
 * when a Docker engine answers (a developer's laptop). Each test file then creates its own
 * databases on these servers (see databases.ts).
 */
declare module 'vitest' {
  export interface ProvidedContext {
    crmServerUrl: string;
    mesServerUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const crm = process.env.CRM_DATABASE_URL;
  const mes = process.env.MES_DATABASE_URL;
  if (crm && mes) {
    project.provide('crmServerUrl', crm);
    project.provide('mesServerUrl', mes);
    const { dropOriginsSince, millraceOrigins, sweepLeftovers } = await import('./databases.js');
    await sweepLeftovers(crm, mes);
    const origins = await millraceOrigins(crm);
    return () => dropOriginsSince(crm, origins);
  }
  const { getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch {
    throw new Error(
      'No test databases: set CRM_DATABASE_URL and MES_DATABASE_URL (scripts/test.sh does), or run a Docker engine for testcontainers',
    );
  }
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { MySqlContainer } = await import('@testcontainers/mysql');
  const [pg, my] = await Promise.all([
    new PostgreSqlContainer('postgres:16')
      .withCommand([
        'postgres',
        '-c',
        'wal_level=logical',
        '-c',
        'max_replication_slots=40',
        '-c',
        'max_wal_senders=40',
      ])
      .withUsername('postgres')
      .withPassword('postgres')
      .withDatabase('crm')
      .start(),
    new MySqlContainer('mysql:8.4').withRootPassword('root').withDatabase('mes').start(),
  ]);
  project.provide(
    'crmServerUrl',
    `postgres://postgres:postgres@${pg.getHost()}:${pg.getPort()}/crm`,
  );
  project.provide('mesServerUrl', `mysql://root:root@${my.getHost()}:${my.getPort()}/mes`);
  return async () => {
    await Promise.all([pg.stop(), my.stop()]);
  };
}
