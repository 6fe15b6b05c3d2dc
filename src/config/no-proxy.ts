import { BlockList, isIP } from 'node:net';
import type { IgnoredEntry } from './exact-bypass.js';
import { normalizeHost, splitHostPort, splitList, type TargetHost } from './host.js';

interface NameEntry {
  entry: string;
  /** Normalised name without leading dot. Matches itself and every subdomain. */
  name: string;
  port: number | undefined;
}

interface IpEntry {
  entry: string;
  address: string;
  port: number | undefined;
}

interface CidrEntry {
  entry: string;
  block: BlockList;
  family: 4 | 6;
}

/**
 * The standard `NO_PROXY` matcher, as curl (7.86-8.8) and undici read it:
 * - entries separated by commas and/or white space, case-insensitive; `*` alone bypasses everything;
 * - `example.com`, `.example.com` and `*.example.com` match `example.com` and any subdomain, never
 *   `nexample.com` (suffix on a label boundary); trailing dots are ignored on both sides;
 * - IP literals match that address only; CIDR ranges (`10.0.0.0/8`, `::1/64`) match addresses inside;
 * - `host:port` (`[v6]:port`) matches that port only, with a URL's default port counting.
 * Names are never resolved: `localhost` does not match `127.0.0.1`.
 */
export class NoProxyList {
  readonly variable: string;
  readonly ignored: readonly IgnoredEntry[];
  readonly matchesAll: boolean;
  readonly #names: NameEntry[] = [];
  readonly #ips: IpEntry[] = [];
  readonly #cidrs: CidrEntry[] = [];

  constructor(value: string | readonly string[] | undefined, variable = 'NO_PROXY') {
    this.variable = variable;
    const ignored: IgnoredEntry[] = [];
    const entries = typeof value === 'string' || value === undefined ? splitList(value) : value.flatMap((v) => splitList(v));
    let all = false;
    for (const entry of entries) {
      if (entry === '*') {
        all = true;
        continue;
      }
      const reason = this.#add(entry);
      if (reason) ignored.push({ variable, entry, reason });
    }
    this.matchesAll = all;
    this.ignored = ignored;
  }

  get isEmpty(): boolean {
    return !this.matchesAll && this.#names.length + this.#ips.length + this.#cidrs.length === 0;
  }

  #add(entry: string): string | undefined {
    if (entry.includes('://')) return 'a URL, not a host (write just the host name)';
    const slash = entry.indexOf('/');
    if (slash >= 0) return this.#addCidr(entry, entry.slice(0, slash), entry.slice(slash + 1));
    const split = splitHostPort(entry);
    if (!split) return 'malformed port';
    const rawHost = split.host.replace(/^\*?\./, '');
    if (rawHost.includes('*')) return 'a wildcard is only allowed as "*" alone or as a leading "*."';
    const host = normalizeHost(rawHost);
    if (host === undefined || host === '') return 'not a valid host name or IP address';
    if (isIP(host) !== 0) this.#ips.push({ entry, address: host, port: split.port });
    else this.#names.push({ entry, name: host, port: split.port });
    return undefined;
  }

  #addCidr(entry: string, address: string, bitsText: string): string | undefined {
    const family = isIP(address);
    if (family === 0) return 'not a CIDR range (the part before "/" is not an IP address)';
    const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
    if (!(bits >= 0 && bits <= (family === 4 ? 32 : 128))) return 'not a CIDR range (bad prefix length)';
    const block = new BlockList();
    block.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
    this.#cidrs.push({ entry, block, family: family as 4 | 6 });
    return undefined;
  }

  /** The entry that makes the target bypass the proxy, if any (`*` when everything is bypassed). */
  match(target: TargetHost): string | undefined {
    if (this.matchesAll) return '*';
    const { hostname, port, ipVersion } = target;
    const portOk = (p: number | undefined): boolean => p === undefined || p === port;
    if (ipVersion === 0) {
      for (const e of this.#names) {
        if (!portOk(e.port)) continue;
        if (hostname === e.name) return e.entry;
        // A suffix must start at a label boundary: `.example.com`, never `nexample.com`.
        if (hostname.length > e.name.length && hostname.endsWith(e.name) && hostname.charCodeAt(hostname.length - e.name.length - 1) === 46) {
          return e.entry;
        }
      }
      return undefined;
    }
    for (const e of this.#ips) if (e.address === hostname && portOk(e.port)) return e.entry;
    for (const e of this.#cidrs) {
      if (e.family === ipVersion && e.block.check(hostname, ipVersion === 4 ? 'ipv4' : 'ipv6')) return e.entry;
    }
    return undefined;
  }
}
