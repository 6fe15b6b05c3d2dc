import { modeOf } from '../../config/system/settings.js';
import type { ReaderOutput, SystemReader } from '../reader.js';

const SETTINGS = 'Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings';
const POLICY = 'HKLM\\Software\\Policies\\Microsoft\\Windows\\CurrentVersion\\Internet Settings';
const TCPIP = 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters';

export const WINDOWS_USER_SOURCE = 'Windows Internet Options, per user';
export const WINDOWS_MACHINE_SOURCE = 'Windows Internet Options, per machine (policy ProxySettingsPerUser=0)';

/** `reg query` output: the values under the key it names, `name → {type, data}`; subkey lines are skipped. */
export function parseRegQuery(text: string): Map<string, { type: string; data: string }> {
  const values = new Map<string, { type: string; data: string }>();
  for (const line of text.split(/\r?\n/)) {
    // Name, type and data are separated by four spaces (Windows and Wine alike); an empty REG_SZ ends at its type.
    const m = /^ {4}(.*?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/.exec(line);
    if (m) values.set((m[1] as string).toLowerCase(), { type: m[2] as string, data: (m[3] ?? '').trim() });
  }
  return values;
}

/** A REG_DWORD's `0x1` → 1. */
function dword(v: { data: string } | undefined): number | undefined {
  if (!v) return undefined;
  const n = Number(v.data);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * `ProxyServer`: `host:port` for every scheme, or `http=host:port;https=host:port;...` per scheme
 * (a scheme it leaves out goes direct, as WinINet does).
 */
export function parseProxyServer(value: string): { httpProxy?: string; httpsProxy?: string } {
  const v = value.trim();
  if (v === '') return {};
  if (!v.includes('=')) return { httpProxy: v, httpsProxy: v };
  const out: { httpProxy?: string; httpsProxy?: string } = {};
  for (const part of v.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const scheme = part.slice(0, eq).trim().toLowerCase();
    const proxy = part.slice(eq + 1).trim();
    if (proxy === '') continue;
    if (scheme === 'http') out.httpProxy = proxy;
    else if (scheme === 'https') out.httpsProxy = proxy;
  }
  return out;
}

/** `DefaultConnectionSettings` (REG_BINARY hex): byte 8 holds the flags; 0x08 is "Automatically detect settings". */
export function autoDetectFlag(hex: string | undefined): boolean {
  if (!hex || hex.length < 18) return false;
  const flags = parseInt(hex.slice(16, 18), 16);
  return Number.isFinite(flags) && (flags & 0x08) !== 0;
}

/**
 * Windows' proxy settings, from the registry keys WinINet keeps (what `WinHttpGetIEProxyConfigForCurrentUser`
 * returns), read with `reg query` (Wine has it too): the per-user key, or the per-machine one where the
 * policy ProxySettingsPerUser is 0; ProxyEnable and ProxyServer, ProxyOverride (`;`-separated, `<local>`,
 * wildcards, plain names match only themselves), AutoConfigURL, the auto-detect flag, and the DNS suffix
 * WPAD devolves from (Tcpip SearchList, else Domain, else DhcpDomain).
 */
export const windowsReader: SystemReader = {
  kind: 'windows',
  inputs: () => [
    { kind: 'run', file: 'reg', args: ['query', POLICY, '/v', 'ProxySettingsPerUser'] },
    { kind: 'run', file: 'reg', args: ['query', `HKCU\\${SETTINGS}`] },
    { kind: 'run', file: 'reg', args: ['query', `HKCU\\${SETTINGS}\\Connections`, '/v', 'DefaultConnectionSettings'] },
    { kind: 'run', file: 'reg', args: ['query', `HKLM\\${SETTINGS}`] },
    { kind: 'run', file: 'reg', args: ['query', `HKLM\\${SETTINGS}\\Connections`, '/v', 'DefaultConnectionSettings'] },
    { kind: 'run', file: 'reg', args: ['query', TCPIP] },
  ],
  parse(outputs: readonly ReaderOutput[]) {
    // A key or value that does not exist makes `reg query` fail: that is "not set", not a problem.
    const read = (i: number): Map<string, { type: string; data: string }> => {
      const o = outputs[i];
      return o && o.ok ? parseRegQuery(o.text) : new Map();
    };
    const perMachine = dword(read(0).get('proxysettingsperuser')) === 0;
    const settings = read(perMachine ? 3 : 1);
    const connections = read(perMachine ? 4 : 2);
    const source = perMachine ? WINDOWS_MACHINE_SOURCE : WINDOWS_USER_SOURCE;
    const problems: string[] = [];
    if (!outputs[1]?.ok && !perMachine) {
      const o = outputs[1];
      problems.push(`reg query ${`HKCU\\${SETTINGS}`} failed (${o && !o.ok ? o.error : 'no output'})`);
    }
    const proxies = dword(settings.get('proxyenable')) === 1 ? parseProxyServer(settings.get('proxyserver')?.data ?? '') : {};
    const pacUrl = settings.get('autoconfigurl')?.data.trim() || undefined;
    const bypass = (settings.get('proxyoverride')?.data ?? '').split(';').map((e) => e.trim()).filter((e) => e !== '');
    const tcpip = read(5);
    // The suffix search list an administrator set, else the primary DNS suffix, else the one DHCP gave.
    const dnsDomain = tcpip.get('searchlist')?.data.split(/[,\s]+/).find((d) => d !== '') ?? (tcpip.get('domain')?.data || tcpip.get('dhcpdomain')?.data || undefined);
    const found = { autoDetect: autoDetectFlag(connections.get('defaultconnectionsettings')?.data), ...(pacUrl && { pacUrl }), ...proxies };
    return { source, bypassName: 'ProxyOverride', bypassStyle: 'wildcard' as const, ...found, mode: modeOf(found), bypass, problems, ...(dnsDomain && { dnsDomain }) };
  },
};
