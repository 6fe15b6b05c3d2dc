import type { Env } from '../config/env.js';
import { schemeClass, type ProxyConfig, type Route } from '../config/proxy-config.js';
import { debug } from '../debug.js';
import { PacRouter, type PacDecision } from './pac-router.js';
import { routesFromPac } from './pac-routes.js';

/** Where the PAC comes from: the `pac` option, else `JAATO_PAC_URL`, else the OS's settings (`src/system`), which name themselves. */
export interface PacSetting {
  url: string;
  source: 'options.pac' | 'JAATO_PAC_URL' | (string & {});
}

export function pacSetting(pac: string | undefined, env: Env = process.env): PacSetting | undefined {
  if (pac !== undefined && pac.trim() !== '') return { url: pac.trim(), source: 'options.pac' };
  const value = env.JAATO_PAC_URL;
  if (value !== undefined && value.trim() !== '') return { url: value.trim(), source: 'JAATO_PAC_URL' };
  return undefined;
}

/** One router per PAC location in the process, so every client shares its cache and its bad-proxy marks. */
const routers = new Map<string, PacRouter>();

/** Locations that are not URLs (WPAD's `wpad:<domain>`), with what loads their text. */
const loaders = new Map<string, () => Promise<string>>();

/** Registers how a pseudo-location's PAC is loaded; its router uses it from then on (WPAD's discovery). */
export function definePacLocation(url: string, load: () => Promise<string>): void {
  loaders.set(url, load);
}

export function pacRouterFor(url: string): PacRouter {
  let router = routers.get(url);
  if (!router) {
    const load = loaders.get(url);
    router = new PacRouter({ url, onMessage: (m) => debug('%s', m), ...(load && { load }) });
    routers.set(url, router);
  }
  return router;
}

/**
 * The routes to try for `target`, in order, and the PAC answer behind them (none when a bypass rule
 * decided). The bypass lists come first, as without a PAC (`JAATO_NO_PROXY` exact, then `NO_PROXY`):
 * a host they name never reaches the PAC. Then the PAC's answer, each proxy with its own endpoint and
 * service name, bad ones last. `signal` (the request's) ends the wait for the PAC early.
 */
export async function pacRoutes(target: URL, config: ProxyConfig, setting: PacSetting, router = pacRouterFor(setting.url), signal?: AbortSignal): Promise<{ routes: Route[]; decision?: PacDecision }> {
  const bypass = config.bypassRule(target);
  if (bypass !== undefined) return { routes: [{ type: 'direct', rule: bypass }] };
  const scheme = schemeClass(target.protocol);
  if (scheme === undefined) return { routes: [{ type: 'direct', rule: `${target.protocol} URLs are never proxied` }] };
  // The PAC is asked about ws:// and wss:// as http:// and https:// (as Chrome does): scripts know only those.
  const asked = scheme === target.protocol ? target : new URL(`${scheme}//${target.host}/`);
  const decision = await router.decide(asked, signal);
  if (decision.truncated !== undefined) debug('%s: PAC answer %s', target.host, decision.truncated);
  const routes = routesFromPac(router.url, decision, config);
  debug('%s: PAC routes %s', target.host, routes.map((r) => (r.type === 'direct' ? 'DIRECT' : r.proxy.redacted)).join(', '));
  return { routes, decision };
}
