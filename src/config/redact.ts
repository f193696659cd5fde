/**
 * The one way a database URL reaches output. A password must never be printed, so every log
 * line and error message that names a database goes through here.
 */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const name of [...parsed.searchParams.keys()]) {
      if (/pass|secret|token|key/i.test(name)) parsed.searchParams.set(name, '***');
    }
    return parsed.toString();
  } catch {
    // Not a URL we can parse: still hide anything shaped like credentials.
    return url.replace(/(\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@').replace(/(password=)[^&\s]*/gi, '$1***');
  }
}

/** Replaces every URL-embedded password inside free text (driver messages sometimes echo the URL). */
export function redactText(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@')
    .replace(/(password=)[^&\s]*/gi, '$1***');
}
