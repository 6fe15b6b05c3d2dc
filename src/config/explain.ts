import { redactUrl } from '../redact.js';
import { JaatoProxyError } from '../errors.js';
import type { Env } from './env.js';
import { toUrl } from './host.js';
import { resolveConfig, type AuthScheme, type ProxyOptions } from './proxy-config.js';

/** Why a URL goes the way it goes: what `jaato-proxy explain` prints. Safe to show: nothing secret. */
export interface Explanation {
  url: string;
  route: 'direct' | 'proxy' | 'error';
  /** The rule that decided, e.g. `JAATO_NO_PROXY entry "github.com"`, `NO_PROXY entry ".corp.com"`, `HTTPS_PROXY`. */
  rule: string;
  /** The proxy URL, credentials masked. */
  proxy?: string;
  auth: AuthScheme;
  /** The service name Negotiate will use, in the platform's form (`HTTP/host` on Windows, `HTTP@host` elsewhere), and where an override came from. */
  spn?: string;
  spnSource?: string;
  /** A Basic fallback is available (credentials in the proxy URL) should the proxy not offer Negotiate. */
  basicFallback?: boolean;
  /** The configuration error that makes this URL unroutable, if any. */
  error?: { code: string; message: string };
  /** Everything odd about the configuration: ignored list entries, unknown values, malformed proxies. */
  warnings: string[];
}

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
  const warnings = [...config.warnings];
  try {
    const route = config.route(toUrl(url));
    if (route.type === 'direct') return { url: shown, route: 'direct', rule: route.rule, auth: 'none', warnings };
    const e: Explanation = { url: shown, route: 'proxy', rule: route.rule, proxy: route.proxy.redacted, auth: route.auth, warnings };
    if (route.spn) {
      e.spn = route.spn;
      e.spnSource = config.spnSource ?? 'proxy host';
      e.basicFallback = route.proxy.credentials !== undefined;
    }
    return e;
  } catch (error) {
    return failed(shown, error, warnings);
  }
}

function failed(url: string, error: unknown, warnings: string[]): Explanation {
  if (!(error instanceof JaatoProxyError)) throw error;
  return { url, route: 'error', rule: error.message, auth: 'none', error: { code: error.code, message: error.message }, warnings };
}
