/**
 * The configuration layer: pure decisions over the environment (or explicit options), no I/O.
 * The seed's four functions keep their names and meaning; `env` is always the optional last argument.
 */
import { firstSet, parseKerberosFlag, PROXY_VARIABLES, UNTARGETED_PROXY_VARIABLES, type Env } from './env.js';
import { parseTarget } from './host.js';
import { parseProxyUrl } from './proxy-url.js';
import { resolveBypass } from './proxy-config.js';

export type { Env } from './env.js';
export { explain, type Explanation } from './explain.js';
export { ExactBypassList, type IgnoredEntry } from './exact-bypass.js';
export { NoProxyList } from './no-proxy.js';
export { parseProxyUrl, type ProxyEndpoint } from './proxy-url.js';
export { ProxyConfig, resolveConfig, type AuthScheme, type DirectRoute, type ProxyOptions, type ProxyRoute, type Route } from './proxy-config.js';
export { kerberosPlatform, type KerberosPlatform, type KerberosProblem } from './platform.js';
export { defaultSpn, normalizeSpn } from './spn.js';
export { InvalidOptionError, InvalidProxyUrlError, InvalidTargetUrlError, UnsupportedProxySchemeError } from './errors.js';

/**
 * The proxy URL for a target (normalised, `http://` added when the value has no scheme), or undefined.
 * `https:` targets read https_proxy/HTTPS_PROXY, then http_proxy/HTTP_PROXY; `http:` targets
 * http_proxy/HTTP_PROXY; ALL_PROXY last; lower case wins. Without a target: first of HTTPS_PROXY, HTTP_PROXY.
 * Throws InvalidProxyUrlError / UnsupportedProxySchemeError naming the variable.
 */
export function getProxyUrl(target?: string | URL, env: Env = process.env): string | undefined {
  let names = UNTARGETED_PROXY_VARIABLES;
  if (target !== undefined) {
    const protocol = parseTarget(target).protocol;
    const scheme = protocol === 'https:' || protocol === 'wss:' ? 'https:' : protocol === 'http:' || protocol === 'ws:' ? 'http:' : undefined;
    if (!scheme) return undefined;
    names = PROXY_VARIABLES[scheme];
  }
  const found = firstSet(env, names);
  if (!found) return undefined;
  let url = proxyUrls.get(found.value);
  if (url === undefined) {
    url = formatProxyUrl(found.value, found.name); // a malformed value throws, every time: never cached
    if (proxyUrls.size >= PROXY_URLS_LIMIT) proxyUrls.clear();
    proxyUrls.set(found.value, url);
  }
  return url;
}

/** A variable's value → its normalised proxy URL; the value alone decides it. */
const proxyUrls = new Map<string, string>();
const PROXY_URLS_LIMIT = 64;

function formatProxyUrl(value: string, variable: string): string {
  const p = parseProxyUrl(value, variable);
  if (!p.credentials) return `${p.origin}/`;
  const u = new URL(p.origin);
  u.username = encodeURIComponent(p.credentials.username);
  u.password = encodeURIComponent(p.credentials.password);
  return u.href;
}

/** `JAATO_KERBEROS_PROXY` is true/1/yes (any case). Other values disable; `explain` reports odd ones. */
export function isKerberosProxyEnabled(env: Env = process.env): boolean {
  return parseKerberosFlag(env.JAATO_KERBEROS_PROXY).enabled;
}

/** The URL bypasses the proxy: an exact `JAATO_NO_PROXY` entry (checked first) or a `NO_PROXY` match. */
export function shouldBypassProxy(url: string | URL, env: Env = process.env): boolean {
  return resolveBypass(env).rule(parseTarget(url)) !== undefined;
}
