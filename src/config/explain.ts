import { redactUrl } from '../redact.js';
import { JaatoProxyError } from '../errors.js';
import type { Env } from './env.js';
import { toUrl } from './host.js';
import { resolveConfig, type AuthScheme, type ProxyConfig, type ProxyOptions, type Route } from './proxy-config.js';
import { schemePreference } from './proxy-auth-setting.js';
import { describeIgnoredParts, type ProxyEndpoint } from './proxy-url.js';

/**
 * Why a URL goes the way it goes: what `jaato-proxy explain` prints, and `--json` prints as it is.
 * Safe to show: nothing secret. The shape is stable: every key is always present, `null` where it
 * does not apply to the route, so a script can read any key without checking for it first.
 */
export interface Explanation {
  /** The URL asked about, credentials masked. */
  url: string;
  route: 'direct' | 'proxy' | 'error';
  /**
   * The rule that decided, e.g. `JAATO_NO_PROXY entry "github.com"`, `NO_PROXY entry ".corp.com"`,
   * `HTTPS_PROXY`; for `error`, the error's message.
   */
  rule: string;
  /** The proxy URL, credentials masked; `null` unless the route is `proxy`. */
  proxy: string | null;
  /** What goes on the first request to the proxy; `none` unless the route is `proxy`. */
  auth: AuthScheme;
  /** The service name Negotiate will use, in the platform's form (`HTTP/host` on Windows, `HTTP@host` elsewhere); `null` unless auth is `negotiate`. */
  spn: string | null;
  /** Where the SPN came from (`JAATO_KERBEROS_SPN`, `options.spn`, `proxy host`); `null` with `spn`. */
  spnSource: string | null;
  /** Under Negotiate: Basic credentials in the proxy URL are a fallback should the proxy not offer Negotiate. `null` unless auth is `negotiate`. */
  basicFallback: boolean | null;
  /**
   * Which scheme answers the proxy's 407 and why (JAATO_PROXY_AUTH, Kerberos on or off, credentials in
   * the proxy URL), before the proxy's offer is known; `null` unless the route is `proxy`.
   */
  authChoice: string | null;
  /** The configuration error that makes this URL unroutable; `null` unless the route is `error`. */
  error: { code: string; message: string } | null;
  /** Everything odd about the configuration: ignored list entries, unknown values, ignored parts of a proxy URL. */
  warnings: string[];
  /** The PAC's part in the decision; `null` when no PAC is configured (see `explainWithPac`). */
  pac: PacExplanation | null;
}

export interface PacExplanation {
  /** The PAC location, credentials masked. */
  url: string;
  /** `JAATO_PAC_URL` or `options.pac`. */
  source: string;
  /** `FindProxyForURL`'s raw answer; `null` when the PAC was not asked (a bypass rule decided first) or failed. */
  answer: string | null;
  /** The usable entries in the order they will be tried (proxies marked unreachable last). */
  entries: string[];
  /** Entries left out of the answer, each with its reason. */
  skipped: string[];
}

const NOT_PROXIED = { proxy: null, auth: 'none', spn: null, spnSource: null, basicFallback: null, authChoice: null, error: null } as const;

/**
 * The decision for a URL and the rule that made it. `env` as for the other configuration functions;
 * `options`, when given, win over it (as they do in the adapters).
 */
export function explain(url: string | URL, env: Env = process.env, options: Omit<ProxyOptions, 'env'> = {}): Explanation {
  const shown = redactUrl(url);
  let config;
  try {
    config = resolveConfig({ ...options, env });
  } catch (error) {
    return failed(shown, error, []);
  }
  const warnings = configWarnings(config);
  try {
    const route = config.route(toUrl(url));
    return explainRoute(shown, config.route(toUrl(url)), config, warnings);
  } catch (error) {
    return failed(shown, error, warnings);
  }
}

/** The explanation of one route (the one the configuration chose, or a PAC's first entry). */
export function explainRoute(shown: string, route: Route, config: ProxyConfig, warnings: string[], pac: PacExplanation | null = null): Explanation {
  if (route.type === 'direct') return { url: shown, route: 'direct', rule: route.rule, ...NOT_PROXIED, warnings, pac };
  const negotiate = route.spn !== undefined;
  return {
    url: shown,
    route: 'proxy',
    rule: route.rule,
    proxy: route.proxy.redacted,
    auth: route.auth,
    spn: route.spn ?? null,
    spnSource: negotiate ? (config.spnSource ?? 'proxy host') : null,
    basicFallback: negotiate ? route.proxy.credentials !== undefined : null,
    authChoice: schemePreference(config.proxyAuth, config.kerberos, route.proxy.credentials !== undefined),
    error: null,
    warnings,
    pac,
  };
}

export function configWarnings(config: ProxyConfig): string[] {
  return [...config.warnings, ...ignoredParts(config)];
}

/** A warning per configured proxy whose value had a path, query or fragment (both schemes: one variable may serve both). */
function ignoredParts(config: ProxyConfig): string[] {
  const found = new Set<string>();
  for (const proxy of configuredProxies(config)) {
    const warning = describeIgnoredParts(proxy);
    if (warning) found.add(warning);
  }
  return [...found];
}

/** The proxies set for https: and for http: URLs (one variable may serve both); a malformed one is among the warnings already. */
export function configuredProxies(config: ProxyConfig): ProxyEndpoint[] {
  const found: ProxyEndpoint[] = [];
  for (const scheme of ['https:', 'http:']) {
    try {
      const proxy = config.proxyFor(scheme);
      if (proxy) found.push(proxy);
    } catch {
      // reported by ProxyConfig.warnings
    }
  }
  return found;
}

export function failed(url: string, error: unknown, warnings: string[], pac: PacExplanation | null = null): Explanation {
  if (!(error instanceof JaatoProxyError)) throw error;
  return { url, route: 'error', rule: error.message, ...NOT_PROXIED, error: { code: error.code, message: error.message }, warnings, pac };
}
