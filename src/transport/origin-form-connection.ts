/**
 * The node agents no longer rewrite request lines (node:http writes origin form, and a forwarding
 * connection puts the absolute form on the wire), so nothing in the library calls this; kept for its
 * table test until the lead decides (it is the pure rule a serve-side rewrite would need).
 */
/** `METHOD scheme://authority[path] HTTP/x.y`: the absolute form a request to a proxy takes. */
const ABSOLUTE_FORM = /^(\S+) [A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?# ]*(\S*) (HTTP\/\d\.\d)$/;

/** A request line in origin form (RFC 9112 §3.2.1): the absolute form's path and query, `/` when empty. */
export function toOriginForm(line: string): string {
  const m = ABSOLUTE_FORM.exec(line);
  if (!m) return line;
  const rest = m[2] as string;
  return `${m[1]} ${rest.startsWith('/') ? rest : `/${rest}`} ${m[3]}`;
}
