import type { IgnoredEntry } from '../exact-bypass.js';
import { normalizeHost, splitHostPort, type TargetHost } from '../host.js';
import { NoProxyList } from '../no-proxy.js';
import type { SystemProxySettings } from './settings.js';

interface Pattern {
  entry: string;
  test: RegExp;
  port: number | undefined;
}

/**
 * An OS bypass list, translated to the matchers the variables use: CIDR, IPs and (GNOME, KDE, macOS)
 * names with their subdomains go to a `NoProxyList`; what those lists cannot say is matched here:
 * `<local>` (Windows, macOS's ExcludeSimpleHostnames: a name without a dot, as WinINet reads it),
 * wildcards anywhere (`*.corp.*`, `10.*`), and Windows' plain names, which match only themselves.
 */
export class SystemBypassList {
  readonly name: string;
  readonly ignored: readonly IgnoredEntry[];
  readonly reversed: boolean;
  readonly #suffix: NoProxyList;
  readonly #patterns: Pattern[] = [];
  readonly #local: string | undefined;

  constructor(settings: Pick<SystemProxySettings, 'bypass' | 'bypassName' | 'bypassStyle' | 'bypassReversed' | 'source'>) {
    this.name = `${settings.source} ${settings.bypassName}`;
    this.reversed = settings.bypassReversed === true;
    const suffix: string[] = [];
    const ignored: IgnoredEntry[] = [];
    let local: string | undefined;
    for (const raw of settings.bypass) {
      const entry = raw.trim();
      if (entry === '') continue;
      if (entry.toLowerCase() === '<local>') {
        local = entry;
        continue;
      }
      if (entry === '<-loopback>') continue; // Chromium's "proxy loopback too": loopback is never implied here anyway
      const cidr = expandShortCidr(entry);
      const leadingOnly = /^\*\.[^*]+$/.test(entry);
      if (cidr !== entry || entry.includes('/')) suffix.push(cidr);
      else if (entry.includes('*') && !(leadingOnly && settings.bypassStyle === 'suffix')) this.#addPattern(entry, ignored);
      else if (settings.bypassStyle === 'wildcard') this.#addPattern(entry, ignored);
      else suffix.push(entry);
    }
    this.#suffix = new NoProxyList(suffix, this.name);
    this.#local = local;
    this.ignored = [...ignored, ...this.#suffix.ignored];
  }

  get isEmpty(): boolean {
    return this.#suffix.isEmpty && this.#patterns.length === 0 && this.#local === undefined;
  }

  /** The entry that matches (a reversed list: the target matches none, so it goes direct). */
  rule(target: TargetHost): string | undefined {
    const entry = this.#match(target);
    if (!this.reversed) return entry === undefined ? undefined : `${this.name} entry "${entry}"`;
    return entry === undefined ? `${this.name} (reversed: only the hosts listed use the proxy)` : undefined;
  }

  #match(target: TargetHost): string | undefined {
    if (this.#local !== undefined && target.ipVersion === 0 && !target.hostname.includes('.')) return this.#local;
    const suffix = this.#suffix.match(target);
    if (suffix !== undefined) return suffix;
    for (const p of this.#patterns) if ((p.port === undefined || p.port === target.port) && p.test.test(target.hostname)) return p.entry;
    return undefined;
  }

  #addPattern(entry: string, ignored: IgnoredEntry[]): void {
    // A scheme prefix (Windows allows `http://host`) says nothing the host does not.
    const bare = entry.replace(/^[a-z]+:\/\//i, '');
    const split = bare.includes('*') ? splitPatternPort(bare) : splitHostPort(bare);
    if (!split) return void ignored.push({ variable: this.name, entry, reason: 'malformed port' });
    const host = split.host.includes('*') ? split.host.toLowerCase().replace(/\.$/, '') : normalizeHost(split.host);
    if (host === undefined || !/^[a-z0-9.*:_-]+$/i.test(host)) return void ignored.push({ variable: this.name, entry, reason: 'not a host name, IP address or wildcard pattern' });
    // The OS's own list, matched against host names of at most 253 characters: a RegExp is bounded enough.
    const source = host.split('*').map((s) => s.replace(/[.]/g, '\\.')).join('.*');
    this.#patterns.push({ entry, test: new RegExp(`^${source}$`), port: split.port });
  }
}

/** `169.254/16` (macOS writes CIDR with the zero octets left out) → `169.254.0.0/16`. */
function expandShortCidr(entry: string): string {
  const m = /^(\d{1,3}(?:\.\d{1,3}){0,2})\/(\d{1,2})$/.exec(entry);
  if (!m) return entry;
  const octets = (m[1] as string).split('.');
  while (octets.length < 4) octets.push('0');
  return `${octets.join('.')}/${m[2]}`;
}

function splitPatternPort(entry: string): { host: string; port?: number } | undefined {
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(entry);
  if (!m) return undefined;
  if (m[2] === undefined) return { host: m[1] as string };
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1] as string, port } : undefined;
}
