/**
 * Reads what `FindProxyForURL` returned: a `;`-separated list such as `PROXY a:8080; HTTPS b; DIRECT`
 * (the Netscape PAC format, with Chrome's and Firefox's `HTTP`/`HTTPS`/`SOCKS5` keywords). Pure.
 */

export type PacEntry =
  | { type: 'direct'; raw: string }
  /** `proxy` is an `http://` or `https://` URL with host and port, ready for the proxy URL parser. */
  | { type: 'proxy'; proxy: string; raw: string };

export interface PacAnswer {
  /** The usable entries, in the PAC's order. */
  entries: PacEntry[];
  /** Entries left out, each with the reason (SOCKS, unknown keyword, bad host or port). */
  skipped: string[];
}

const KEYWORDS: Record<string, { scheme: 'http:' | 'https:'; port: number } | 'socks' | undefined> = {
  PROXY: { scheme: 'http:', port: 80 },
  HTTP: { scheme: 'http:', port: 80 },
  HTTPS: { scheme: 'https:', port: 443 },
  SOCKS: 'socks',
  SOCKS4: 'socks',
  SOCKS5: 'socks',
};

/** `undefined` when `value` is not a string at all; otherwise the entries and what was skipped. */
export function parsePacAnswer(value: unknown): PacAnswer | undefined {
  if (typeof value !== 'string') return undefined;
  const entries: PacEntry[] = [];
  const skipped: string[] = [];
  for (const part of value.split(';')) {
    const raw = part.trim();
    if (raw === '') continue;
    const [keyword = '', target, ...rest] = raw.split(/\s+/);
    const upper = keyword.toUpperCase();
    if (upper === 'DIRECT' && target === undefined) {
      entries.push({ type: 'direct', raw });
      continue;
    }
    const kind = KEYWORDS[upper];
    if (kind === 'socks') {
      skipped.push(`"${raw}": SOCKS proxies are not supported`);
    } else if (kind === undefined || target === undefined || rest.length > 0) {
      skipped.push(`"${raw}": not a PAC entry (DIRECT, PROXY host:port, HTTPS host:port)`);
    } else {
      const proxy = proxyUrl(kind.scheme, target, kind.port);
      if (proxy === undefined) skipped.push(`"${raw}": not a host[:port]`);
      else entries.push({ type: 'proxy', proxy, raw });
    }
  }
  return { entries, skipped };
}

function proxyUrl(scheme: string, target: string, defaultPort: number): string | undefined {
  if (/[/@?#\\]/.test(target)) return undefined;
  let url: URL;
  try {
    url = new URL(`${scheme}//${target}`);
  } catch {
    return undefined;
  }
  if (url.hostname === '' || url.username !== '' || url.pathname !== '/') return undefined;
  // `new URL` drops a port equal to the scheme's default, and a missing one means the keyword's default.
  return `${scheme}//${url.host}${url.port === '' ? `:${defaultPort}` : ''}`;
}
