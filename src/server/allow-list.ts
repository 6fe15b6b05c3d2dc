import { BlockList, isIP } from 'node:net';
import { InvalidOptionError } from '../config/errors.js';
import { canonicalIp } from './self-address.js';

/** One `--allow` entry: an address (a single one has the full prefix) or a CIDR range. */
export interface AllowEntry {
  entry: string;
  address: string;
  family: 4 | 6;
  prefix: number;
}

const LOOPBACK = ['127.0.0.1', '::1', '::ffff:127.0.0.1'];

/** Parses an `--allow` value; throws InvalidOptionError (option `allow`) for anything else. */
export function parseAllowEntry(entry: string): AllowEntry {
  const [address = '', bits, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) throw new InvalidOptionError('allow', `"${entry}" is not an IP address or CIDR range`);
  const max = family === 6 ? 128 : 32;
  if (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= max)) throw new InvalidOptionError('allow', `"${entry}" has a bad prefix length`);
  return { entry, address, family: family as 4 | 6, prefix: bits === undefined ? max : Number(bits) };
}

/** The clients a local proxy serves: loopback always, plus the entries. */
export function allowList(entries: readonly AllowEntry[]): BlockList {
  const list = new BlockList();
  for (const a of LOOPBACK) list.addAddress(a, isIP(a) === 6 ? 'ipv6' : 'ipv4');
  for (const e of entries) {
    const type = e.family === 6 ? 'ipv6' : 'ipv4';
    if (e.prefix === (e.family === 6 ? 128 : 32)) list.addAddress(e.address, type);
    else list.addSubnet(e.address, e.prefix, type);
  }
  return list;
}

/**
 * Who an entry admits: only this machine's loopback (127.0.0.0/8, ::1, or 127/8 mapped into IPv6),
 * every address of a family (a /0; an IPv4-mapped /96 or shorter is every IPv4 client), or some others.
 */
function reach(e: AllowEntry): 'loopback' | 'IPv4' | 'IPv6' | 'others' {
  if (e.prefix === 0) return e.family === 6 ? 'IPv6' : 'IPv4';
  const a = canonicalIp(e.address) ?? '';
  // An IPv4-mapped range keeps its IPv4 part in the last 32 of its 128 bits.
  const v4Prefix = e.family === 4 ? e.prefix : e.prefix - 96;
  if (isIP(a) === 4) return v4Prefix <= 0 ? 'IPv4' : v4Prefix >= 8 && a.startsWith('127.') ? 'loopback' : 'others';
  return a === '::1' && e.prefix === 128 ? 'loopback' : 'others';
}

/**
 * What to warn about before serving: an entry that admits every address (an open relay for anyone who
 * can reach the port), or any range beyond loopback. Whoever is admitted makes requests upstream as
 * the user who runs serve, with that user's Kerberos identity.
 */
export function allowWarnings(entries: readonly AllowEntry[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    const r = reach(e);
    if (r === 'IPv4' || r === 'IPv6') {
      out.push(`--allow ${e.entry} admits every ${r} client: anyone who can reach this port uses your proxy credentials (your Kerberos identity) through it, an open relay`);
    } else if (r === 'others') {
      out.push(`--allow ${e.entry} admits clients beyond this machine's loopback: each of them uses your proxy credentials (your Kerberos identity) through serve`);
    }
  }
  return out;
}
