import { lookup } from 'node:dns/promises';
import { debug } from '../debug.js';
import { loadPac } from '../pac/pac-source.js';
import { registrableDomain } from './public-suffix.js';

/** The PAC WPAD hands the engine when no candidate answers: DIRECT, as browsers go when nothing is found. */
export const WPAD_NOT_FOUND_PAC = 'function FindProxyForURL() { return "DIRECT"; }';

/** The first domain of resolv.conf's last `search` line, else its `domain` (glibc: the last of either wins). */
export function resolvConfDomain(text: string): string | undefined {
  let found: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const m = /^(search|domain)\s+(\S+)/.exec(line);
    if (m) found = (m[2] as string).replace(/\.$/, '').toLowerCase();
  }
  return found === '' ? undefined : found;
}

/**
 * The hosts WPAD asks, in order: `wpad.` + the DNS domain, then + each parent, down to and including
 * the registrable domain and never past it: from `a.corp.example.co.uk`, `wpad.a.corp.example.co.uk`,
 * `wpad.corp.example.co.uk`, `wpad.example.co.uk`; never `wpad.co.uk`, whoever registered it.
 */
export function wpadCandidates(domain: string | undefined): string[] {
  if (!domain) return [];
  const name = domain.toLowerCase().replace(/\.$/, '');
  const floor = registrableDomain(name);
  if (floor === undefined) return [];
  const labels = name.split('.');
  const out: string[] = [];
  for (let i = 0; i < labels.length; i++) {
    const d = labels.slice(i).join('.');
    out.push(`wpad.${d}`);
    if (d === floor) break;
  }
  return out;
}

export interface WpadOptions {
  timeoutMs?: number;
  lookup?: (host: string) => Promise<unknown>;
}

/**
 * Discovery by DNS: the first candidate that resolves and serves `/wpad.dat` (200, within the PAC size
 * and time bounds) is the PAC. None: the DIRECT PAC, so a laptop at home with auto-detect on works as
 * its browser does. The caller (the PAC engine) caches the text, revalidates it on its refresh interval
 * and runs it in the same sandbox as any PAC.
 */
export async function discoverWpad(domain: string | undefined, options: WpadOptions = {}): Promise<string> {
  const candidates = wpadCandidates(domain);
  // A trailing dot: the name as it is, never with the resolver's search domains appended.
  const resolve = options.lookup ?? ((host: string) => lookup(`${host}.`));
  for (const host of candidates) {
    try {
      await resolve(host);
    } catch {
      debug('WPAD: %s does not resolve', host);
      continue;
    }
    const url = `http://${host}/wpad.dat`;
    try {
      const text = await loadPac(url, { timeoutMs: options.timeoutMs ?? 5000 });
      debug('WPAD: using %s', url);
      return text;
    } catch (error) {
      debug('WPAD: %s: %s', url, (error as Error).message);
    }
  }
  debug('WPAD: no PAC found (%s): going direct', candidates.length > 0 ? `asked ${candidates.join(', ')}` : `no DNS search domain to devolve from (${domain ?? 'none'})`);
  return WPAD_NOT_FOUND_PAC;
}
