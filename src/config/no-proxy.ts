import { BlockList, isIP } from 'node:net';
import type { IgnoredEntry } from './exact-bypass.js';
import { normalizeHost, splitHostPort, splitList, type TargetHost } from './host.js';

/** A host or IP entry; `index` is its place in the list, so the first matching entry is the one reported. */
interface HostEntry {
  entry: string;
  index: number;
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
 *
 * A match costs the same for 10 entries as for 10,000: names are looked up by each label suffix of the
 * target (`a.b.example.com`, `b.example.com`, `example.com`, `com`) in a map, addresses by value, and
 * CIDR ranges are checked all at once in one `BlockList` before the matching one is looked for.
 */
export class NoProxyList {
  readonly variable: string;
  readonly ignored: readonly IgnoredEntry[];
  readonly matchesAll: boolean;
  /** Normalised name without leading dot → its entries in list order. Matches itself and every subdomain. */
  readonly #names = new Map<string, HostEntry[]>();
  /** Normalised address → its entries in list order. */
  readonly #ips = new Map<string, HostEntry[]>();
  readonly #cidrs: CidrEntry[] = [];
  /** Every CIDR range in one list per family, so a target outside them all costs one check. */
  readonly #anyCidr = { 4: new BlockList(), 6: new BlockList() };
  #count = 0;

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
    return !this.matchesAll && this.#count === 0;
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
    const map = isIP(host) !== 0 ? this.#ips : this.#names;
    const list = map.get(host) ?? [];
    list.push({ entry, index: this.#count++, port: split.port });
    map.set(host, list);
    return undefined;
  }

  #addCidr(entry: string, address: string, bitsText: string): string | undefined {
    const family = isIP(address);
    if (family === 0) return 'not a CIDR range (the part before "/" is not an IP address)';
    const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
    if (!(bits >= 0 && bits <= (family === 4 ? 32 : 128))) return 'not a CIDR range (bad prefix length)';
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const block = new BlockList();
    block.addSubnet(address, bits, type);
    this.#anyCidr[family as 4 | 6].addSubnet(address, bits, type);
    this.#cidrs.push({ entry, block, family: family as 4 | 6 });
    this.#count++;
    return undefined;
  }

  /** The entry that makes the target bypass the proxy, if any (`*` when everything is bypassed). */
  match(target: TargetHost): string | undefined {
    if (this.matchesAll) return '*';
    const { hostname, port, ipVersion } = target;
    if (ipVersion === 0) {
      // The name itself, then each suffix that starts at a label boundary: `.example.com` matches
      // `www.example.com`, never `nexample.com`. The earliest entry in the list wins, as in a scan.
      let best: HostEntry | undefined;
      for (let from = 0; ; ) {
        const found = firstForPort(this.#names.get(from === 0 ? hostname : hostname.slice(from)), port);
        if (found && (best === undefined || found.index < best.index)) best = found;
        const dot = hostname.indexOf('.', from);
        if (dot < 0) break;
        from = dot + 1;
      }
      return best?.entry;
    }
    const ip = firstForPort(this.#ips.get(hostname), port);
    if (ip) return ip.entry;
    const type = ipVersion === 4 ? 'ipv4' : 'ipv6';
    if (!this.#anyCidr[ipVersion].check(hostname, type)) return undefined;
    for (const e of this.#cidrs) if (e.family === ipVersion && e.block.check(hostname, type)) return e.entry;
    return undefined;
  }
}

/** The first entry of a host's list that applies to the port (no port: every port). */
function firstForPort(entries: readonly HostEntry[] | undefined, port: number): HostEntry | undefined {
  if (entries === undefined) return undefined;
  for (const e of entries) if (e.port === undefined || e.port === port) return e;
  return undefined;
}
