import { describe, expect, it } from 'vitest';
import { redact, redactText } from '../../src/config/redact.js';

describe('redact', () => {
  it.each([
    ['postgres://postgres@127.0.0.1:5432/crm'],
    ['mysql://root@127.0.0.1:3306/mes'],
    ['mariadb://mes-db/mes?ssl=verify'],
    ['postgres://us%40er@db/crm'],
  ])('leaves %s without a password as it is', (url) => {
    expect(redact(url)).toBe(url);
  });

  it.each([
    ['postgres://app:s3cret@db:5432/crm', 'postgres://app:***@db:5432/crm'],
    ['postgresql://app:s3cret@db/crm', 'postgresql://app:***@db/crm'],
    ['mysql://root:s3cret@127.0.0.1:3306/mes', 'mysql://root:***@127.0.0.1:3306/mes'],
    ['mariadb://root:s3cret@mes-db/mes', 'mariadb://root:***@mes-db/mes'],
    // Percent-encoded characters: the whole encoded password goes, the encoded user stays.
    ['postgres://us%40er:p%40ss%3Aw%2Frd@db/crm', 'postgres://us%40er:***@db/crm'],
    // A raw @ in the password: the last @ before the host ends it.
    ['postgres://app:p@ss@db/crm', 'postgres://app:***@db/crm'],
    ['mysql://:only-password@db/mes', 'mysql://:***@db/mes'],
  ])('hides the password of %s', (url, expected) => {
    expect(redact(url)).toBe(expected);
  });

  it('hides credential query parameters and keeps the others', () => {
    expect(redact('postgres://app@db/crm?sslmode=require&password=hunter2')).toBe(
      'postgres://app@db/crm?sslmode=require&password=***',
    );
    const redacted = redact(
      'mysql://root@db/mes?ssl=true&sslpassword=a1&token=b2&api_key=c3&client_secret=d4',
    );
    expect(redacted).toBe(
      'mysql://root@db/mes?ssl=true&sslpassword=***&token=***&api_key=***&client_secret=***',
    );
  });

  it('hides both the password and a password parameter', () => {
    const redacted = redact('postgres://app:one@db/crm?password=two');
    expect(redacted).toBe('postgres://app:***@db/crm?password=***');
  });

  it('is idempotent', () => {
    const once = redact('postgres://app:s3cret@db/crm?password=x');
    expect(redact(once)).toBe(once);
  });

  describe('on a URL it cannot parse', () => {
    it.each([
      ['postgres://app:s3cret@db:port/crm', 's3cret'],
      ['postgres://app:p@ss-tail@db:port/crm', 'ss-tail'],
      ['postgres://app:p/ss-tail@db:port/crm', 'ss-tail'],
      ['mysql://root:s3cret@[::1/mes', 's3cret'],
      ['root:s3cret@mes-db:3306/mes', 's3cret'],
      ['mysql://db:port/mes?password=s3cret', 's3cret'],
    ])('hides the password of %s', (url, secret) => {
      const redacted = redact(url);
      expect(redacted).not.toContain(secret);
      expect(redacted).toContain('***');
    });

    it('keeps the parts that help find the mistake', () => {
      expect(redact('postgres://app:s3cret@db:port/crm')).toBe('postgres://app:***@db:port/crm');
      expect(redact('not a url')).toBe('not a url');
    });
  });
});

describe('redactText', () => {
  it('hides the password of every URL in a text', () => {
    const text =
      'copy from postgres://app:pw-one@crm-db:5432/crm to mysql://root:pw-two@mes-db:3306/mes, ' +
      "then 'mariadb://u:pw-three@backup/mes' failed";
    expect(redactText(text)).toBe(
      'copy from postgres://app:***@crm-db:5432/crm to mysql://root:***@mes-db:3306/mes, ' +
        "then 'mariadb://u:***@backup/mes' failed",
    );
  });

  it('leaves URLs without a password alone', () => {
    const text =
      'cannot reach postgres://postgres@127.0.0.1:5432/crm or mysql://127.0.0.1:3306/mes';
    expect(redactText(text)).toBe(text);
  });

  it('hides percent-encoded and raw-@ passwords', () => {
    const redacted = redactText(
      'a postgres://app:p%40ss%2Fw0rd@db/crm b mysql://root:r@w@db/mes c',
    );
    expect(redacted).toBe('a postgres://app:***@db/crm b mysql://root:***@db/mes c');
  });

  it('hides password= and other credential parameters, in URLs and in key=value text', () => {
    expect(redactText('host=db port=5432 user=app password=hunter2 dbname=crm')).toBe(
      'host=db port=5432 user=app password=*** dbname=crm',
    );
    expect(
      redactText('see mysql://root@db/mes?ssl=true&password=hunter2&token=abc and retry'),
    ).toBe('see mysql://root@db/mes?ssl=true&password=***&token=*** and retry');
    expect(redactText('PASSWORD=Hunter2')).toBe('PASSWORD=***');
  });

  it('hides several URLs and parameters in one text', () => {
    const text =
      'postgres://a:sec-one@h1/crm?password=sec-two mysql://b:sec-three@h2/mes?sslpassword=sec-four done';
    const redacted = redactText(text);
    for (const secret of ['sec-one', 'sec-two', 'sec-three', 'sec-four'])
      expect(redacted).not.toContain(secret);
    expect(redacted).toContain('@h1/crm');
    expect(redacted).toContain('@h2/mes');
    expect(redacted).toContain('done');
  });

  it('leaves driver messages without credentials unchanged', () => {
    const message = "Access denied for user 'root'@'localhost' (using password: YES)";
    expect(redactText(message)).toBe(message);
    const pgMessage = 'password authentication failed for user "app"';
    expect(redactText(pgMessage)).toBe(pgMessage);
  });
});
