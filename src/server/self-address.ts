import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

/**
 * An IP address in one spelling: IPv4 dotted quad (`127.1`, `0x7f000001` → `127.0.0.1`), IPv6
 * compressed and lower case, an IPv4-mapped IPv6 address as its IPv4 (`::ffff:7f00:1` → `127.0.0.1`:
 * a dual-stack socket reaches the IPv4 listener through it). Undefined for anything that is not an IP.
 */
export function canonicalIp(raw: string): string | undefined {
  let text = raw.charCodeAt(0) === 91 /* [ */ && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  if (text.endsWith('.')) text = text.slice(0, -1); // RFC 1034: a trailing dot is the root
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  let host: string;
  try {
    // The WHATWG parser reads every IPv4 form browsers and curl accept, and compresses IPv6.
    host = new URL(`http://${isIP(text) === 6 ? `[${text}]` : text}/`).hostname;
  } catch {
    return undefined;
  }
  if (isIP(host) === 4) return host;
  const v6 = host.startsWith('[') ? host.slice(1, -1) : '';
  if (isIP(v6) !== 6) return undefined;
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!mapped) return v6;
  const hi = parseInt(mapped[1] as string, 16);
  const lo = parseInt(mapped[2] as string, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Every address a host name resolves to here (all of them, canonical), or the IP itself; [] when it does not resolve. */
export async function addressesOf(host: string): Promise<string[]> {
  const literal = canonicalIp(host);
  if (literal) return [literal];
  const name = (host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase();
  try {
    const found = await lookup(name, { all: true, verbatim: true });
    return [...new Set(found.map((a) => canonicalIp(a.address)).filter((a): a is string => a !== undefined))];
  } catch {
    return []; // a name that does not resolve here cannot be this listener; the request reports it
  }
}

/**
 * Where a listening socket can be reached from this host: which `ip:port` destinations end up in it.
 * A wildcard listener (`0.0.0.0`, or `::`, which is dual-stack) takes every local address of its
 * families: each interface's (`os.networkInterfaces()`) and the whole of 127.0.0.0/8. A destination of
 * `0.0.0.0` or `::` reaches this host's loopback (Linux and macOS connect it so).
 */
export class ListeningAddresses {
  readonly port: number;
  readonly #address: string;
  readonly #wildcard: 4 | 6 | 0;
  readonly #local: ReadonlySet<string>;

  constructor(address: string, port: number, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()) {
    this.port = port;
    this.#address = canonicalIp(address) ?? address;
    this.#wildcard = this.#address === '0.0.0.0' ? 4 : this.#address === '::' ? 6 : 0;
    const local = new Set<string>();
    for (const list of Object.values(interfaces)) for (const i of list ?? []) local.add(canonicalIp(i.address) ?? i.address);
    this.#local = local;
  }

  /** True when a connection to `ip:port` lands in this listener. */
  reaches(ip: string, port: number): boolean {
    if (port !== this.port) return false;
    let a = canonicalIp(ip);
    if (a === undefined) return false;
    if (a === '0.0.0.0') a = '127.0.0.1';
    else if (a === '::') a = '::1';
    const v4 = isIP(a) === 4;
    if (this.#wildcard === 6 || (this.#wildcard === 4 && v4)) return (v4 && a.startsWith('127.')) || a === '::1' || this.#local.has(a);
    return a === this.#address;
  }

  /** The first of `host`'s addresses that lands in this listener on `port`, if any. */
  async reachedBy(host: string, port: number): Promise<string | undefined> {
    if (port !== this.port) return undefined; // the common case: no lookup
    for (const a of await addressesOf(host)) if (this.reaches(a, port)) return a;
    return undefined;
  }
}
