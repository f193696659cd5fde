/**
 * The one way a database URL reaches output. A password must never be printed, so every log
 * line and error message that names a database goes through here.
 */

/** Query parameters that carry credentials (`password=`, `sslpassword=`, `api_key=`, …). */
const secretParam = /pass|secret|token|key/i;

/**
 * The password part of `scheme://user:password@`, up to the last `@` before whitespace: a raw
 * `@` or `/` in a password must not leave its tail visible. Hiding too much is harmless;
 * hiding too little is not.
 */
const urlPassword = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)\S*@/gi;
const paramValue = /(\b[\w.-]*(?:pass|secret|token|key)[\w.-]*=)[^&\s]*/gi;

export function redact(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return redactUnparsed(url);
  }
  // `root:pw@db/mes` (no scheme) parses as scheme `root:` with no host: nothing to trust.
  if (parsed.host === '') return redactUnparsed(url);
  if (parsed.password) parsed.password = '***';
  for (const name of [...parsed.searchParams.keys()]) {
    if (secretParam.test(name)) parsed.searchParams.set(name, '***');
  }
  return parsed.toString();
}

/** A URL we cannot read: hide anything shaped like credentials, with or without a scheme. */
function redactUnparsed(url: string): string {
  return redactText(url).replace(/^([^:/@\s]*:)(?!\/\/)\S*@/, '$1***@');
}

/** Replaces every URL-embedded password inside free text (driver messages sometimes echo the URL). */
export function redactText(text: string): string {
  return text.replace(urlPassword, '$1***@').replace(paramValue, '$1***');
}
