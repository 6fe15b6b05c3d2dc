import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * PAC functions that pac-resolver lacks or does differently: the IPv6 `...Ex` family (Microsoft's
 * extension, which Chrome implements too), and `myIpAddress` without pac-resolver's TCP connect to
 * 8.8.8.8, which would leave this machine and can hang where outbound traffic is dropped. Each is
 * asynchronous where it resolves names, so the event loop never blocks on DNS.
 */

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
  const [net, bits] = String(prefix).split('/');
  const family = isIP(net ?? '');
  if (family === 0 || bits === undefined || !/^\d+$/.test(bits)) return false;
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
  const all = String(list).split(';').map((a) => a.trim()).filter(Boolean);
  if (all.length === 0 || all.some((a) => isIP(a) === 0)) return false;
  return [...all.filter((a) => isIP(a) === 6), ...all.filter((a) => isIP(a) === 4)].join(';');
}

export function getClientVersion(): string {
  return '1.0';
}

export const EXTRA_PAC_FUNCTIONS = {
  myIpAddress,
  myIpAddressEx,
  dnsResolveEx,
  isResolvableEx,
  isInNetEx,
  sortIpAddressList,
  getClientVersion,
};
