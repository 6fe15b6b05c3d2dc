import type { DirectRoute, ProxyRoute, Route } from '../config/proxy-config.js';
import { parseProxyUrl, type ProxyEndpoint } from '../config/proxy-url.js';
import { redactUrl } from '../redact.js';
import type { PacDecision } from './pac-router.js';

/** What of the configuration a PAC's proxies take: the configuration's route through a proxy, and Basic credentials. */
export interface PacRouteContext {
  /** The route through `proxy` the variables would give it: up-front scheme, SPN, JAATO_PROXY_AUTH's pin. */
  proxyRoute(proxy: ProxyEndpoint, rule: string): ProxyRoute;
  /** The same proxy configured with credentials (HTTPS_PROXY=http://user:pass@that-proxy), if any. */
  credentialedProxy(origin: string): ProxyEndpoint | undefined;
}

/**
 * The routes a PAC answer names, in the order to try them. Each proxy gets its own endpoint, so its own
 * pool and its own Negotiate (SPN `HTTP@<that proxy>`, unless an SPN override is set), and Basic
 * credentials where the same proxy is configured with them.
 */
export function routesFromPac(pacUrl: string, decision: PacDecision, context: PacRouteContext): Route[] {
  return decision.entries.map((entry, i): Route => {
    const rule = `PAC ${redactUrl(pacUrl)}: "${entry.raw}" (entry ${i + 1} of ${decision.entries.length})`;
    if (entry.type === 'direct') return { type: 'direct', rule } satisfies DirectRoute;
    const named = parseProxyUrl(entry.proxy, `the PAC file's answer "${entry.raw}"`);
    // Credentials only ever for the very proxy they were configured for (same scheme, host and port).
    const proxy = context.credentialedProxy(named.origin) ?? named;
    return context.proxyRoute(proxy, rule);
  });
}
