import { schemeClass, type Route } from '../../config/proxy-config.js';
import type { PacSetting } from '../../pac/pac-route.js';
import type { Routing } from '../../routing/routing.js';

/**
 * How a node agent routes a request: a route known now (a bypass rule, or the proxy variables), or a
 * PAC to ask before the request is handed to a route's agent. The bypass lists are asked first, synchronously, as
 * without a PAC: a host they name never reaches the PAC, and an http: request to it keeps origin form.
 */
export type AgentDecision = { route: Route; pac?: undefined } | { pac: PacSetting; route?: undefined };

export function decideRoute(target: URL, { config, pac: setting }: Routing): AgentDecision {
  if (setting === undefined) return { route: config.route(target) };
  const rule = config.bypassRule(target);
  if (rule !== undefined) return { route: { type: 'direct', rule } };
  if (schemeClass(target.protocol) === undefined) return { route: config.route(target) };
  return { pac: setting };
}
