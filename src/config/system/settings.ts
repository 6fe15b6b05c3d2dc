import { firstSet, PROXY_VARIABLES, type Env } from '../env.js';

/** What the OS says to do, in the order a browser tries them: WPAD, a PAC URL, fixed proxies, nothing. */
export type SystemProxyMode = 'none' | 'manual' | 'pac' | 'auto-detect';

/**
 * One system's proxy settings, normalised: what every reader (GNOME, KDE, macOS, Windows) returns.
 * Pure data, so the configuration layer can compile it like options, and a test can write one down.
 */
export interface SystemProxySettings {
  mode: SystemProxyMode;
  /** Where it was read, as explain, doctor and the debug log name it, e.g. `GNOME (gsettings org.gnome.system.proxy)`. */
  source: string;
  /** `host:port` or a URL; used when `mode` is `manual`. */
  httpProxy?: string;
  /** For https: URLs; the reader has applied its system's fallback to the HTTP proxy already. */
  httpsProxy?: string;
  /** The bypass list's entries as the system wrote them (`<local>`, wildcards, CIDR). */
  bypass: readonly string[];
  /** The name of the list in the system's own terms (`ignore-hosts`, `ProxyOverride`...), for rules. */
  bypassName: string;
  /**
   * `suffix`: a plain name matches itself and its subdomains (GNOME, KDE, macOS);
   * `wildcard`: a plain name matches only itself, `*` anywhere (Windows).
   */
  bypassStyle: 'suffix' | 'wildcard';
  /** KDE's "use the proxy only for the listed hosts". */
  bypassReversed?: boolean;
  pacUrl?: string;
  autoDetect: boolean;
  /** The DNS search domain WPAD devolves from (auto-detect only). */
  dnsDomain?: string;
  /** What could not be read or was odd: shown as warnings, never thrown. */
  problems: readonly string[];
}

/** `JAATO_SYSTEM_PROXY`: `on` / `off`, or unset: the system's settings only when nothing else is set. */
export type SystemSwitch = 'auto' | 'on' | 'off';

export function parseSystemSwitch(value: string | undefined, variable = 'JAATO_SYSTEM_PROXY'): { value: SystemSwitch; warning?: string } {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto') return { value: 'auto' };
  if (v === 'on' || v === 'true' || v === '1' || v === 'yes') return { value: 'on' };
  if (v === 'off' || v === 'false' || v === '0' || v === 'no') return { value: 'off' };
  const auto = variable === 'JAATO_WPAD' ? 'WPAD where the OS says auto-detect' : "the OS's settings when no proxy variable is set";
  return { value: 'auto', warning: `${variable}="${value}" is not one of on/off/auto: left at auto (${auto})` };
}

/** The explicit settings that make the system's settings unnecessary (ProxyOptions' and the pac option). */
export interface ExplicitSources {
  proxy?: string;
  httpProxy?: string;
  httpsProxy?: string;
  pac?: string;
}

/**
 * Whether the OS's settings are the source: options always win; then `JAATO_SYSTEM_PROXY=off` (never)
 * and `=on` (even over the proxy variables and `JAATO_PAC_URL`); unset, only when none of those is set.
 * Reads through `env`, so a cache over it sees exactly which variables decided.
 */
export function systemSourceWanted(env: Env, explicit: ExplicitSources = {}): boolean {
  if ([explicit.proxy, explicit.httpProxy, explicit.httpsProxy, explicit.pac].some((v) => v !== undefined && v.trim() !== '')) return false;
  const choice = parseSystemSwitch(env.JAATO_SYSTEM_PROXY).value;
  if (choice !== 'auto') return choice === 'on';
  return firstSet(env, PROXY_VARIABLES['https:']) === undefined && firstSet(env, ['JAATO_PAC_URL']) === undefined;
}

/** Which system's reader applies. Linux: the desktop the session names, as Chromium picks it; nothing else is guessed. */
export type SystemKind = 'windows' | 'macos' | 'gnome' | 'kde';

const GNOME_DESKTOPS = new Set(['gnome', 'unity', 'x-cinnamon', 'cinnamon', 'budgie', 'pantheon', 'mate', 'xfce', 'deepin', 'ukui']);

export function systemKind(platform: NodeJS.Platform, env: Env): SystemKind | undefined {
  if (platform === 'win32') return 'windows';
  if (platform === 'darwin') return 'macos';
  const desktops = (env.XDG_CURRENT_DESKTOP ?? '').toLowerCase().split(':').filter((d) => d !== '');
  if (desktops.includes('kde')) return 'kde';
  if (desktops.some((d) => GNOME_DESKTOPS.has(d))) return 'gnome';
  const session = (env.DESKTOP_SESSION ?? '').toLowerCase();
  if (session.includes('kde') || session.includes('plasma')) return 'kde';
  if (session.includes('gnome') || session.includes('ubuntu') || session.includes('cinnamon')) return 'gnome';
  return undefined;
}

/** Where a PAC the system names comes from: its URL, or WPAD's discovery under a pseudo-location. */
export interface SystemPac {
  url: string;
  source: string;
}

/** WPAD's pseudo-location `wpad:<domain>`: the PAC engine loads it through the discovery registered for it. */
export const WPAD_LOCATION_PREFIX = 'wpad:';

/** The PAC the settings name: the PAC URL, or (auto-detect) WPAD from the DNS search domain. */
export function systemPac(settings: SystemProxySettings | undefined): SystemPac | undefined {
  if (!settings) return undefined;
  if (settings.mode === 'pac' && settings.pacUrl) return { url: settings.pacUrl, source: `${settings.source}, PAC URL` };
  if (settings.mode === 'auto-detect') {
    const domain = settings.dnsDomain ?? '';
    return { url: `${WPAD_LOCATION_PREFIX}${domain}`, source: `WPAD (DNS wpad.${domain || '<no search domain>'}; auto-detect set by ${settings.source})` };
  }
  return undefined;
}

/** Mode from the fields a system reader found, in the order browsers apply them. */
export function modeOf(s: { autoDetect: boolean; pacUrl?: string; httpProxy?: string; httpsProxy?: string }): SystemProxyMode {
  if (s.autoDetect) return 'auto-detect';
  if (s.pacUrl) return 'pac';
  if (s.httpProxy || s.httpsProxy) return 'manual';
  return 'none';
}
