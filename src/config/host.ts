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

/** By `scheme://authority` prefix, and by whole URL (a string seen again keeps its hash: no slice, no hashing). */
const byAuthority = new Map<string, ParsedTarget>();
const byUrl = new Map<string, ParsedTarget>();
const PARSED_LIMIT = 1024;

/**
 * The target of a URL, parsed once per distinct `scheme://authority` (the WHATWG parser decides).
 * A URL object is keyed by its serialisation, which the parser has already made plain.
 */
export function parseTarget(url: string | URL): ParsedTarget {
  const text = typeof url === 'string' ? url : url.href;
  const seen = byUrl.get(text);
  if (seen) return seen;
  const end = plainAuthorityEnd(text);
  const plain = end < 0 ? undefined : text.slice(0, end);
  let parsed = plain === undefined ? undefined : byAuthority.get(plain);
  if (parsed === undefined) {
    parsed = fromUrl(typeof url === 'string' ? toUrl(url) : url);
    if (plain !== undefined) bounded(byAuthority).set(plain, parsed);
  }
  if (plain !== undefined) bounded(byUrl).set(text, parsed);
  return parsed;
}

function bounded<V>(map: Map<string, V>): Map<string, V> {
  if (map.size >= PARSED_LIMIT) map.clear();
  return map;
}

/**
 * Where `http(s)://` or `ws(s)://`, a host of letters, digits, dots and hyphens and an optional
 * `:port` end, when a path, query, fragment or the end follows; -1 otherwise. Such a prefix holds
 * none of what the WHATWG parser treats specially in an authority (userinfo `@`, `%`, `\`, tabs,
 * brackets), so the host is a function of the prefix alone and one parse serves every URL with it.
 * Hand-written, not a regular expression: this runs on every request.
 */
function plainAuthorityEnd(s: string): number {
  let i = s.startsWith('https://') || s.startsWith('wss://') ? s.indexOf('/') + 2 : s.startsWith('http://') || s.startsWith('ws://') ? s.indexOf('/') + 2 : -1;
  if (i < 0) return -1;
  const hostStart = i;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // a-z, A-Z, 0-9, '.', '-'
    if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 46 || c === 45)) break;
  }
  if (i === hostStart) return -1;
  if (s.charCodeAt(i) === 58 /* : */) {
    const portStart = ++i;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    if (i === portStart || i - portStart > 5) return -1;
  }
  if (i === s.length) return i;
  const next = s.charCodeAt(i);
  return next === 47 /* / */ || next === 63 /* ? */ || next === 35 /* # */ ? i : -1;
}

function fromUrl(url: URL): ParsedTarget {
  return { protocol: url.protocol, host: targetOf(url), key: `${url.protocol}//${url.host}` };
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
