import { printable } from '../debug.js';

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
  /** Entries left out, each with the reason (SOCKS, unknown keyword, bad host or port, past the limits). */
  skipped: string[];
  /** Set when the answer went past `PAC_ANSWER_LIMITS` and only its start was read: says what was cut. */
  truncated?: string;
}

/**
 * How much of an answer is read. Browsers try a handful of entries; a hostile PAC returning 200,000
 * `PROXY` entries made the program try each (a port scan from the user's machine), with seconds of
 * stalls and half a gigabyte of memory. Ten entries of the longest host names fit in 3 KiB.
 */
export const PAC_ANSWER_LIMITS = { entries: 10, chars: 8192 } as const;

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
  const answer: PacAnswer = { entries, skipped };
  let text = value;
  if (text.length > PAC_ANSWER_LIMITS.chars) {
    // Cut at the last separator inside the limit: an entry cut in two is not read at all.
    text = text.slice(0, Math.max(0, text.lastIndexOf(';', PAC_ANSWER_LIMITS.chars)));
    answer.truncated = `longer than ${PAC_ANSWER_LIMITS.chars} characters (${value.length}): only its first ${text.length} were read`;
  }
  let read = 0;
  // One pass with indexOf: no array of all the parts of a huge answer.
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf(';', start);
    if (end < 0) end = text.length;
    const part = text.slice(start, end).trim();
    start = end + 1;
    if (part === '') continue;
    // As shown in `explain`, `doctor` and errors: one line, no escape sequence.
    const raw = printable(part);
    if (read === PAC_ANSWER_LIMITS.entries) {
      const more = `more than ${PAC_ANSWER_LIMITS.entries} entries: only the first ${PAC_ANSWER_LIMITS.entries} were read`;
      answer.truncated = answer.truncated === undefined ? more : `${answer.truncated}; ${more}`;
      break;
    }
    read++;
    const [keyword = '', target, ...rest] = part.split(/\s+/);
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
  if (answer.truncated !== undefined) skipped.push(`the rest of the answer: ${answer.truncated}`);
  return answer;
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
