import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../../config/env.js';
import { modeOf } from '../../config/system/settings.js';
import { hostPort, type ReaderOutput, type SystemReader } from '../reader.js';

export const KDE_SOURCE = 'KDE (kioslaverc)';

/** `$XDG_CONFIG_HOME/kioslaverc` (KDE 5 and 6), `~/.config` when the variable is unset. */
export function kioslavercPath(env: Env): string {
  const config = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.trim() !== '' ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(config, 'kioslaverc');
}

/** An INI group's keys; KDE's `key[$e]=` (shell-expanded) and `key[$i]=` (immutable) markers are dropped. */
export function iniGroup(text: string, group: string): Map<string, string> {
  const keys = new Map<string, string>();
  let inside = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      inside = line === `[${group}]`;
      continue;
    }
    if (!inside || line.startsWith('#') || !line.includes('=')) continue;
    const eq = line.indexOf('=');
    keys.set(line.slice(0, eq).replace(/\[\$[a-z]+\]$/, '').trim(), line.slice(eq + 1).trim());
  }
  return keys;
}

/** KDE writes a proxy as `http://host port` (a space before the port) or `host:port`. */
function kdeProxy(value: string | undefined): string | undefined {
  const v = (value ?? '').trim();
  if (v === '') return undefined;
  const spaced = /^(\S+)\s+(\d+)$/.exec(v);
  return spaced ? hostPort(spaced[1], spaced[2]) : v;
}

/**
 * KDE's proxy settings, `[Proxy Settings]` in kioslaverc, as KIO reads them: ProxyType 0 none, 1 manual
 * (httpProxy, httpsProxy; https does not fall back to http), 2 the PAC in `Proxy Config Script`, 3 WPAD,
 * 4 "use the environment" (the variables, already read first). NoProxyFor is the bypass list, reversed
 * (only the listed hosts use the proxy) when ReversedException is true.
 */
export const kdeReader: SystemReader = {
  kind: 'kde',
  inputs: (env) => [{ kind: 'file', path: kioslavercPath(env) }],
  parse([out]: readonly ReaderOutput[]) {
    const base = { source: KDE_SOURCE, bypassName: 'NoProxyFor', bypassStyle: 'suffix' as const, autoDetect: false, bypass: [] as string[] };
    if (!out || !out.ok) return { ...base, mode: 'none', problems: out?.ok === false && !out.error.includes('ENOENT') ? [`kioslaverc could not be read (${out.error})`] : [] };
    const keys = iniGroup(out.text, 'Proxy Settings');
    const type = keys.get('ProxyType') ?? '0';
    const bypass = (keys.get('NoProxyFor') ?? '').split(/[\s,]+/).filter((e) => e !== '');
    const bypassReversed = /^(true|1)$/i.test(keys.get('ReversedException') ?? '');
    const problems: string[] = [];
    let found: { autoDetect: boolean; pacUrl?: string; httpProxy?: string; httpsProxy?: string } = { autoDetect: false };
    if (type === '1') {
      const httpProxy = kdeProxy(keys.get('httpProxy'));
      const httpsProxy = kdeProxy(keys.get('httpsProxy'));
      found = { autoDetect: false, ...(httpProxy && { httpProxy }), ...(httpsProxy && { httpsProxy }) };
    } else if (type === '2') {
      const pacUrl = (keys.get('Proxy Config Script') ?? '').trim();
      if (pacUrl === '') problems.push('ProxyType=2 (a PAC) without a Proxy Config Script');
      found = { autoDetect: false, ...(pacUrl && { pacUrl }) };
    } else if (type === '3') {
      found = { autoDetect: true };
    } else if (type === '4') {
      problems.push('ProxyType=4 ("use the environment"): the proxy variables decide, and none is set');
    } else if (type !== '0') {
      problems.push(`ProxyType=${type} is not one of 0-4`);
    }
    return { ...base, ...found, mode: modeOf(found), bypass, bypassReversed, problems };
  },
};
