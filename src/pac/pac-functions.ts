import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { shExpMatch } from './sh-exp-match.js';

/**
 * PAC functions that pac-resolver lacks or does differently: the IPv6 `...Ex` family (Microsoft's
 * extension, which Chrome implements too), and `myIpAddress` without pac-resolver's TCP connect to
 * 8.8.8.8, which would leave this machine and can hang where outbound traffic is dropped. Each is
 * asynchronous where it resolves names, so the event loop never blocks on DNS.
 *
 * These run in Node, outside the sandbox's time and memory bounds, with arguments a hostile script
 * chooses (strings up to the sandbox's heap): each is linear in its input, allocates no array per
 * character, asks DNS only for a string that can be a name, and builds no regular expression from one.
 */

/** RFC 1035: a name is at most 255 octets on the wire, 253 characters as text; longer ones never resolve. */
const MAX_NAME = 253;
/** An address, mask or CIDR prefix is short; anything longer is not one (and is not parsed). */
const MAX_ADDRESS = 64;
/** `sortIpAddressList`: more than this many characters is not a list of addresses a PAC needs sorted. */
const MAX_ADDRESS_LIST = 64 * 1024;

function isName(host: unknown): boolean {
  const text = String(host);
  return text.length > 0 && text.length <= MAX_NAME;
}

/** This machine's addresses, non-internal first (the first IPv4 one is what `myIpAddress` answers). */
function localAddresses(family?: 4 | 6): string[] {
  const out: { address: string; internal: boolean }[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (family === undefined || a.family === `IPv${family}`) out.push(a);
  }
  out.sort((a, b) => Number(a.internal) - Number(b.internal));
  return out.map((a) => a.address);
}

export async function myIpAddress(): Promise<string> {
  return localAddresses(4)[0] ?? '127.0.0.1';
}

export async function myIpAddressEx(): Promise<string> {
  return localAddresses().join(';');
}

/** All the addresses a name resolves to, `;`-separated, or `""` when it does not resolve. */
export async function dnsResolveEx(host: string): Promise<string> {
  if (!isName(host)) return '';
  try {
    return (await lookup(String(host), { all: true })).map((a) => a.address).join(';');
  } catch {
    return '';
  }
}

export async function isResolvableEx(host: string): Promise<boolean> {
  return (await dnsResolveEx(host)) !== '';
}

/** True when any address of `host` (or `host` itself, when an address) lies in the CIDR `prefix`. */
export async function isInNetEx(host: string, prefix: string): Promise<boolean> {
  const text = String(prefix);
  const slash = text.indexOf('/');
  if (text.length > MAX_ADDRESS || slash < 0) return false;
  const net = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  const family = isIP(net);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  const list = new BlockList();
  try {
    list.addSubnet(net as string, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
  } catch {
    return false;
  }
  const addresses = isIP(String(host)) ? [String(host)] : (await dnsResolveEx(host)).split(';').filter(Boolean);
  return addresses.some((a) => list.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4'));
}

/** `;`-separated addresses sorted IPv6 first, then IPv4, each group in order (Microsoft's definition). */
export function sortIpAddressList(list: string): string | false {
  if (String(list).length > MAX_ADDRESS_LIST) return false;
  const all = String(list).split(';').map((a) => a.trim()).filter(Boolean);
  if (all.length === 0 || all.some((a) => isIP(a) === 0)) return false;
  return [...all.filter((a) => isIP(a) === 6), ...all.filter((a) => isIP(a) === 4)].join(';');
}

export function getClientVersion(): string {
  return '1.0';
}

/** How many dots `host` has, counted (pac-resolver matched `/\./g`: an array as long as the string). */
export function dnsDomainLevels(host: string): number {
  const text = String(host);
  let levels = 0;
  for (let i = text.indexOf('.'); i >= 0; i = text.indexOf('.', i + 1)) levels++;
  return levels;
}

export function isPlainHostName(host: string): boolean {
  return !String(host).includes('.');
}

/**
 * The host is `hostdom`, or a start of it that ends at a dot (`www` for `www.corp.example`), as
 * Firefox and Chrome write it; pac-resolver split both on dots, an array per label of a hostile string.
 */
export function localHostOrDomainIs(host: string, hostdom: string): boolean {
  const h = String(host);
  const d = String(hostdom);
  return h === d || d.startsWith(`${h}.`);
}

/** pac-resolver's DNS functions, asking DNS only for what can be a name (its `isInNet` parses short masks only). */
export function boundedDns(resolver: Record<string, (...args: unknown[]) => unknown>): Record<string, (...args: unknown[]) => Promise<unknown>> {
  const { dnsResolve, isResolvable, isInNet } = resolver as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return {
    dnsResolve: async (host: unknown) => (isName(host) ? dnsResolve?.(host) : null),
    isResolvable: async (host: unknown) => (isName(host) ? isResolvable?.(host) : false),
    isInNet: async (host: unknown, pattern: unknown, mask: unknown) =>
      isName(host) && String(pattern).length <= MAX_ADDRESS && String(mask).length <= MAX_ADDRESS ? isInNet?.(host, pattern, mask) : false,
  };
}

/**
 * Every PAC function the script sees: pac-resolver's, these replacing some of them, and `shExpMatch`
 * stopping at the PAC's time limit (`overdue`). `alert` is the caller's.
 */
export function pacFunctions(resolver: Record<string, (...args: unknown[]) => unknown>, overdue: () => boolean): Record<string, (...args: unknown[]) => unknown> {
  return {
    ...resolver,
    ...boundedDns(resolver),
    ...EXTRA_PAC_FUNCTIONS,
    shExpMatch: (str: unknown, shexp: unknown) => shExpMatch(String(str), String(shexp), overdue),
  } as Record<string, (...args: unknown[]) => unknown>;
}

export const EXTRA_PAC_FUNCTIONS = {
  dnsDomainLevels,
  isPlainHostName,
  localHostOrDomainIs,
  myIpAddress,
  myIpAddressEx,
  dnsResolveEx,
  isResolvableEx,
  isInNetEx,
  sortIpAddressList,
  getClientVersion,
};
