import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { schemeClass, type ProxyConfig, type ProxyRoute, type Route } from '../../config/proxy-config.js';
import { openFirstReachable } from '../../pac/first-reachable.js';
import { pacRouterFor, pacRoutes, type PacSetting } from '../../pac/pac-route.js';
import type { Routing } from '../routing.js';

/**
 * How a node agent routes a request: a route known now (a bypass rule, or the proxy variables), or a
 * PAC to ask once the connection is opened. The bypass lists are asked first, synchronously, as
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

/** The route each connection opened by a PAC took, for the errors of requests on it. */
const chosen = new WeakMap<Duplex, Route>();

/** The proxy a connection opened by a PAC goes through, if any. */
export function pacProxyOf(socket: Duplex | null | undefined): ProxyRoute | undefined {
  const route = socket ? chosen.get(socket) : undefined;
  return route?.type === 'proxy' ? route : undefined;
}

/**
 * A connection for `target` by the PAC's answer: its entries in order, a proxy that cannot be reached
 * marked bad and passed over (see openFirstReachable). `open` makes the connection for one route.
 */
export async function openByPac(target: URL, setting: PacSetting, config: ProxyConfig, open: (route: Route) => Promise<Duplex>): Promise<Duplex> {
  const router = pacRouterFor(setting.url);
  const { routes } = await pacRoutes(target, config, setting, router);
  const { value, route } = await openFirstReachable(routes, router, open);
  chosen.set(value, route);
  return value;
}

/** Resolves with the socket once it is connected; rejects with its error (a refused DIRECT one fails the request). */
export function connected<T extends Socket>(socket: T): Promise<T> {
  if (!socket.connecting) return Promise.resolve(socket);
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
