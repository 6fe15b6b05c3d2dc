// RFC 9110 §7.6.1: connection-specific fields are not forwarded; Proxy-* belong to this hop only.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** The end-to-end fields of a (lower-cased) header object: without the hop-by-hop ones and those its Connection lists. */
export function endToEnd(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const connection = headers.connection;
  // Usually none, or `keep-alive` / `close`, which are hop-by-hop anyway: no list to build.
  const listed = connection === undefined ? undefined : new Set(String(connection).toLowerCase().split(',').map((s) => s.trim()));
  const out: Record<string, string | string[]> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v !== undefined && !HOP_BY_HOP.has(k) && !listed?.has(k)) out[k] = v;
  }
  return out;
}

/** A Via list (RFC 9110 §7.6.3) with one more entry appended. */
export function appendVia(via: string | string[] | undefined, entry: string): string {
  const before = Array.isArray(via) ? via.join(', ') : via;
  return before ? `${before}, ${entry}` : entry;
}
