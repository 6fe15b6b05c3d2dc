import type { DirectRoute, ProxyRoute, Route } from '../config/proxy-config.js';
import { parseProxyUrl, type ProxyEndpoint } from '../config/proxy-url.js';
import { redactUrl } from '../redact.js';
import type { PacDecision } from './pac-router.js';

/** What of the configuration a PAC's proxies take: the Kerberos switch and the service-name rule. */
export interface PacRouteContext {
  kerberos: boolean;
  spnFor(proxy: ProxyEndpoint): string;
}

/**
 * The routes a PAC answer names, in the order to try them. Each proxy gets its own endpoint, so its own
 * pool and its own Negotiate (SPN `HTTP@<that proxy>`, unless an SPN override is set).
 */
export function routesFromPac(pacUrl: string, decision: PacDecision, context: PacRouteContext): Route[] {
  return decision.entries.map((entry, i): Route => {
    const rule = `PAC ${redactUrl(pacUrl)}: "${entry.raw}" (entry ${i + 1} of ${decision.entries.length})`;
    if (entry.type === 'direct') return { type: 'direct', rule } satisfies DirectRoute;
    const proxy = parseProxyUrl(entry.proxy, `the PAC file's answer "${entry.raw}"`);
    const route: ProxyRoute = context.kerberos
      ? { type: 'proxy', proxy, auth: 'negotiate', spn: context.spnFor(proxy), rule }
      : { type: 'proxy', proxy, auth: 'none', rule };
    return route;
  });
}
