import { modeOf } from '../../config/system/settings.js';
import { hostPort, type ReaderOutput, type SystemReader } from '../reader.js';

export const MACOS_SOURCE = 'macOS System Configuration (scutil --proxy)';

/**
 * `scutil --proxy`'s dictionary: top-level `key : value` lines, and arrays (`ExceptionsList`) as lists.
 * Nested dictionaries (`__SCOPED__`, per interface) are skipped: the top level is what applies.
 */
export function parseScutilProxy(text: string): Map<string, string | string[]> {
  const keys = new Map<string, string | string[]>();
  let depth = 0;
  let array: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line === '}') {
      depth--;
      if (depth === 1) array = undefined;
      continue;
    }
    const m = /^(.+?) : (.*)$/.exec(line);
    if (line.startsWith('<dictionary>')) {
      depth++;
      continue;
    }
    if (!m) continue;
    // Both groups always take part in a match.
    const key = m[1]!;
    const value = m[2]!;
    if (value.startsWith('<array>')) {
      if (depth === 1) {
        array = [];
        keys.set(key, array);
      }
      depth++;
    } else if (value.startsWith('<dictionary>')) depth++;
    else if (depth === 1) keys.set(key, value.trim());
    else if (depth === 2 && array) array.push(value.trim());
  }
  return keys;
}

/**
 * macOS's proxy settings, from the System Configuration store (`SCDynamicStoreCopyProxies`, which
 * `scutil --proxy` prints): HTTP and HTTPS proxies (each its own: no fallback), ExceptionsList (names
 * match their subdomains, `*.local`, `169.254/16`), ExcludeSimpleHostnames (names without a dot go
 * direct), the PAC URL and the auto-discovery (WPAD) flag.
 */
export const macosReader: SystemReader = {
  kind: 'macos',
  inputs: () => [{ kind: 'run', file: 'scutil', args: ['--proxy'] }],
  parse([out]: readonly ReaderOutput[]) {
    const base = { source: MACOS_SOURCE, bypassName: 'ExceptionsList', bypassStyle: 'suffix' as const };
    if (!out || !out.ok) return { ...base, mode: 'none', autoDetect: false, bypass: [], problems: [`scutil --proxy could not be run (${out?.ok === false ? out.error : 'no output'})`] };
    const keys = parseScutilProxy(out.text);
    const s = (k: string): string | undefined => {
      const v = keys.get(k);
      return typeof v === 'string' ? v : undefined;
    };
    const on = (k: string): boolean => s(k) === '1';
    const httpProxy = on('HTTPEnable') ? hostPort(s('HTTPProxy'), s('HTTPPort')) : undefined;
    const httpsProxy = on('HTTPSEnable') ? hostPort(s('HTTPSProxy'), s('HTTPSPort')) : undefined;
    const pacUrl = on('ProxyAutoConfigEnable') ? s('ProxyAutoConfigURLString') : undefined;
    const list = keys.get('ExceptionsList');
    const bypass = [...(Array.isArray(list) ? list : []), ...(on('ExcludeSimpleHostnames') ? ['<local>'] : [])];
    const found = { autoDetect: on('ProxyAutoDiscoveryEnable'), ...(pacUrl && { pacUrl }), ...(httpProxy && { httpProxy }), ...(httpsProxy && { httpsProxy }) };
    return { ...base, ...found, mode: modeOf(found), bypass, problems: [] };
  },
};
