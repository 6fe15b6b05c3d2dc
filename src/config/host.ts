import { isIP } from 'node:net';
import { InvalidTargetUrlError } from './errors.js';
import { redactUrl } from '../redact.js';

/** A request's destination as the matchers see it. */
export interface TargetHost {
  /** Lower case, punycode, IPv6 without brackets, no trailing dot. */
  hostname: string;
  /** The effective port: the URL's, or the scheme's default. */
  port: number;
  /** 0 for a name, 4 or 6 for an IP literal. */
  ipVersion: 0 | 4 | 6;
}

export const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 };

/** Parses with the WHATWG URL parser so userinfo, query and percent-encoding tricks cannot fake a host. */
export function toUrl(url: string | URL): URL {
  if (url instanceof URL) return url;
  try {
    return new URL(url);
  } catch {
    throw new InvalidTargetUrlError(redactUrl(url));
  }
}

/** A target as every decision needs it, from one parse. */
export interface ParsedTarget {
  protocol: string;
  host: TargetHost;
  /** `scheme://authority`: what the decision depends on, the key of per-host caches. */
  key: string;
}

/**
 * `scheme://host[:port]` followed by a path, query, fragment or nothing, with none of the characters
 * the WHATWG parser treats specially in an authority (userinfo `@`, `%`, `\\`, tabs, brackets): for such
 * a string the host is a function of this prefix alone, so one parse serves every URL that starts with it.
 */
const PLAIN_AUTHORITY = /^(?:https?|wss?):\/\/[A-Za-z0-9.-]+(?::\d{1,5})?(?=[/?#]|$)/;
const parsedTargets = new Map<string, ParsedTarget>();
const PARSED_TARGETS_LIMIT = 1024;

/** The target of a URL, parsed once per distinct `scheme://authority` (the WHATWG parser decides). */
export function parseTarget(url: string | URL): ParsedTarget {
  if (typeof url === 'string') {
    const plain = PLAIN_AUTHORITY.exec(url)?.[0];
    const known = plain === undefined ? undefined : parsedTargets.get(plain);
    if (known) return known;
    const parsed = fromUrl(toUrl(url));
    if (plain !== undefined) remember(plain, parsed);
    return parsed;
  }
  const key = `${url.protocol}//${url.host}`;
  return parsedTargets.get(key) ?? remember(key, fromUrl(url));
}

function fromUrl(url: URL): ParsedTarget {
  return { protocol: url.protocol, host: targetOf(url), key: `${url.protocol}//${url.host}` };
}

function remember(key: string, parsed: ParsedTarget): ParsedTarget {
  if (parsedTargets.size >= PARSED_TARGETS_LIMIT) parsedTargets.clear();
  parsedTargets.set(key, parsed);
  return parsed;
}

export function targetOf(url: URL): TargetHost {
  const hostname = stripHost(url.hostname);
  const port = url.port === '' ? (DEFAULT_PORTS[url.protocol] ?? 0) : Number(url.port);
  return { hostname, port, ipVersion: isIP(hostname) as 0 | 4 | 6 };
}

/** A URL's host as sockets and SPNs want it: `[::1]` → `::1`, names unchanged. */
export function unbracket(hostname: string): string {
  return hostname.charCodeAt(0) === 91 /* [ */ ? hostname.slice(1, -1) : hostname;
}

/** Drops IPv6 brackets and one trailing dot (RFC 1034: `example.com.` is `example.com`). */
function stripHost(hostname: string): string {
  let h = unbracket(hostname);
  if (h.charCodeAt(h.length - 1) === 46 /* . */) h = h.slice(0, -1);
  return h;
}

/**
 * Normalises a host written in a bypass list the same way the WHATWG parser normalises a URL's host
 * (case, IDN to punycode, IPv4 forms such as `127.1`, IPv6 compression), so list and URL compare equal.
 * Returns undefined when it is not a valid host.
 */
export function normalizeHost(raw: string): string | undefined {
  const bracketed = isIP(raw) === 6 ? `[${raw}]` : raw;
  if (/[/?#@\\\s]/.test(bracketed)) return undefined;
  try {
    const url = new URL(`http://${bracketed}/`);
    if (url.port !== '' || url.hostname === '') return undefined;
    return stripHost(url.hostname);
  } catch {
    return undefined;
  }
}

/**
 * Splits `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address. Returns undefined for a
 * malformed port.
 */
export function splitHostPort(entry: string): { host: string; port?: number } | undefined {
  if (isIP(entry) === 6) return { host: entry };
  let host = entry;
  let portText: string | undefined;
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close < 0) return undefined;
    host = entry.slice(1, close);
    const rest = entry.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return undefined;
      portText = rest.slice(1);
    }
  } else {
    const colon = entry.lastIndexOf(':');
    if (colon >= 0) {
      host = entry.slice(0, colon);
      portText = entry.slice(colon + 1);
    }
  }
  if (portText === undefined) return { host };
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** Splits a bypass-list variable: entries separated by commas and/or white space. */
export function splitList(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(/[\s,]+/).filter((e) => e !== '');
}
