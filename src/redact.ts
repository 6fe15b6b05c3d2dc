const MASK = '****';

/**
 * Shows a proxy URL with its credentials masked. Works on strings that do not parse as URLs too, since
 * the malformed value is exactly what an error message wants to show.
 */
export function redactUrl(value: string | URL): string {
  if (value instanceof URL) return redactParsed(value);
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // shown masked below
  }
  // `user:pw@host` parses as scheme "user:" with an opaque path: mask such values as text too.
  if (url && url.host !== '') return redactParsed(url);
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/?#]*@/i, (_m, scheme: string | undefined) => `${scheme ?? ''}${MASK}@`);
}

function redactParsed(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = MASK;
  if (copy.password !== '') copy.password = MASK;
  return copy.href;
}
