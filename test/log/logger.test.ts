import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../src/log/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { lines, destination };
}

describe('logger', () => {
  it('writes JSON lines at and above its level, with child bindings, and drops the rest', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination });
    logger.debug('not written');
    const child = logger.child({ component: 'writer' });
    child.warn({ table: 'stg_customer' }, 'slow');
    logger.info('plain');
    expect(
      lines.map(({ level, msg, component, table }) => ({ level, msg, component, table })),
    ).toEqual([
      { level: 40, msg: 'slow', component: 'writer', table: 'stg_customer' },
      { level: 30, msg: 'plain', component: undefined, table: undefined },
    ]);
  });

  it('hides passwords in fields and URLs in error messages', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination });
    logger.error(
      {
        connection: { password: 'hunter2' },
        err: new Error('no route to mysql://root:hunter2@db/mes'),
      },
      'failed',
    );
    expect(JSON.stringify(lines)).not.toContain('hunter2');
    expect(lines[0]!.msg).toBe('failed');
  });

  it('a silent logger writes nothing', () => {
    const logger = silentLogger();
    expect(() => logger.child({ component: 'x' }).error('nothing')).not.toThrow();
  });
});
