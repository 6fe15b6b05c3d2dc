import { modeOf } from '../../config/system/settings.js';
import { hostPort, type ReaderOutput, type SystemReader } from '../reader.js';

export const GNOME_SOURCE = 'GNOME (gsettings org.gnome.system.proxy)';

/** One value of GVariant's text form as gsettings prints it: a string, a number, a boolean, or an array of strings. */
export function parseGVariant(text: string): string | number | boolean | string[] | undefined {
  const t = text.trim().replace(/^@as\s+/, '');
  if (t === 'true' || t === 'false') return t === 'true';
  if (/^-?\d+$/.test(t)) return Number(t);
  if (t.startsWith('[')) {
    const items: string[] = [];
    let i = 1;
    for (;;) {
      while (i < t.length && /[\s,]/.test(t[i] as string)) i++;
      if (i >= t.length || t[i] === ']') return items;
      const s = readString(t, i);
      if (!s) return undefined;
      items.push(s.value);
      i = s.end;
    }
  }
  const s = readString(t, 0);
  return s?.value;
}

/** A single- or double-quoted GVariant string from `i`, backslash escapes undone. */
function readString(t: string, i: number): { value: string; end: number } | undefined {
  const quote = t[i];
  if (quote !== "'" && quote !== '"') return undefined;
  let value = '';
  for (let j = i + 1; j < t.length; j++) {
    const c = t[j] as string;
    if (c === '\\') {
      const n = t[++j] ?? '';
      value += n === 'n' ? '\n' : n === 't' ? '\t' : n;
    } else if (c === quote) return { value, end: j + 1 };
    else value += c;
  }
  return undefined;
}

/** `gsettings list-recursively org.gnome.system.proxy`: `schema key value` a line → `schema.key` → value. */
export function parseGsettingsList(text: string): Map<string, ReturnType<typeof parseGVariant>> {
  const keys = new Map<string, ReturnType<typeof parseGVariant>>();
  for (const line of text.split('\n')) {
    const m = /^(org\.gnome\.system\.proxy(?:\.\w+)?) ([\w-]+) (.*)$/.exec(line.trim());
    if (m) keys.set(`${m[1]}.${m[2]}`, parseGVariant(m[3] as string));
  }
  return keys;
}

/**
 * GNOME's proxy settings, as GLib's GProxyResolverGnome reads them: mode none/manual/auto; in manual,
 * the http host (with its credentials when use-authentication is on) and the https host, https falling
 * back to http as GLib does; ignore-hosts (names match their subdomains, CIDR allowed); in auto, the
 * autoconfig-url, or WPAD when it is empty (libproxy's reading).
 */
export const gnomeReader: SystemReader = {
  kind: 'gnome',
  inputs: () => [{ kind: 'run', file: 'gsettings', args: ['list-recursively', 'org.gnome.system.proxy'] }],
  parse([out]: readonly ReaderOutput[]) {
    const base = { source: GNOME_SOURCE, bypassName: 'ignore-hosts', bypassStyle: 'suffix' as const, autoDetect: false };
    if (!out || !out.ok) return { ...base, mode: 'none', bypass: [], problems: [`gsettings could not be read (${out?.ok === false ? out.error : 'no output'}); it is in Debian's libglib2.0-bin`] };
    const keys = parseGsettingsList(out.text);
    const str = (k: string): string => (typeof keys.get(k) === 'string' ? (keys.get(k) as string) : '');
    const num = (k: string): number => (typeof keys.get(k) === 'number' ? (keys.get(k) as number) : 0);
    const mode = str('org.gnome.system.proxy.mode');
    const bypassValue = keys.get('org.gnome.system.proxy.ignore-hosts');
    const bypass = Array.isArray(bypassValue) ? bypassValue : [];
    const problems: string[] = [];
    if (mode === 'auto') {
      const pacUrl = str('org.gnome.system.proxy.autoconfig-url').trim();
      const found = { pacUrl: pacUrl || undefined, autoDetect: pacUrl === '' };
      return { ...base, ...found, mode: modeOf(found), bypass, problems };
    }
    if (mode !== 'manual') return { ...base, mode: 'none', bypass, problems: mode === 'none' || mode === '' ? [] : [`mode '${mode}' is not none, manual or auto`] };
    let httpProxy = hostPort(str('org.gnome.system.proxy.http.host'), num('org.gnome.system.proxy.http.port'));
    const user = str('org.gnome.system.proxy.http.authentication-user');
    if (httpProxy && keys.get('org.gnome.system.proxy.http.use-authentication') === true && user !== '') {
      const password = str('org.gnome.system.proxy.http.authentication-password');
      httpProxy = `http://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${httpProxy.replace(/^http:\/\//, '')}`;
    }
    const httpsProxy = hostPort(str('org.gnome.system.proxy.https.host'), num('org.gnome.system.proxy.https.port')) ?? httpProxy;
    if (!httpProxy && !httpsProxy && str('org.gnome.system.proxy.socks.host') !== '') problems.push('only a SOCKS proxy is set, and SOCKS is not supported: every connection goes direct');
    const found = { autoDetect: false, ...(httpProxy && { httpProxy }), ...(httpsProxy && { httpsProxy }) };
    return { ...base, ...found, mode: modeOf(found), bypass, problems };
  },
};
