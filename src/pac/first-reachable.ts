import type { Route } from '../config/proxy-config.js';
import { debug } from '../debug.js';
import type { PacRouter } from './pac-router.js';
import { proxyUnreachable } from './unreachable.js';

/**
 * Opens a connection by the first of `routes` that can be reached, as browsers go down a PAC's list: a
 * proxy that could not be reached at all is marked bad with the router (tried last for a while) and the
 * next entry is tried; any other failure, a DIRECT one, or the last entry's, is the answer. Without a
 * router (no PAC: a single route) the one route is opened.
 */
export async function openFirstReachable<T>(routes: readonly Route[], router: PacRouter | undefined, open: (route: Route) => Promise<T>): Promise<{ value: T; route: Route }> {
  for (let i = 0; ; i++) {
    const route = routes[i] as Route;
    try {
      return { value: await open(route), route };
    } catch (error) {
      if (!router || route.type !== 'proxy' || i === routes.length - 1 || !proxyUnreachable(error)) throw error;
      router.markBad(route.proxy.origin);
      debug('%s unreachable, next PAC entry', route.proxy.redacted);
    }
  }
}
