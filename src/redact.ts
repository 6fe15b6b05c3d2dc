const MASK = '****';

/**
 * Shows a proxy URL with its credentials masked. Works on strings that do not parse as URLs too, since
 * the malformed value is exactly what an error message wants to show.
 */
export function redactUrl(value: string | URL): string {
  if (value instanceof URL) return redactParsed(value);
  try {
    return redactParsed(new URL(value));
  } catch {
    // Unparseable: mask everything between "//" (or the start) and the last "@" before the host.
    return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i, (_m, scheme: string | undefined) => `${scheme ?? ''}${MASK}@`);
  }
}

function redactParsed(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = MASK;
  if (copy.password !== '') copy.password = MASK;
  return copy.href;
}
