import { EnvCache } from '../config/env-cache.js';
import { ProxyConfig, type ProxyOptions } from '../config/proxy-config.js';
import { pacSetting, type PacSetting } from '../pac/pac-route.js';

/** What a client (a dispatcher, a node agent, serve) routes by: the compiled configuration and the PAC setting, from one set of reads. */
export interface Routing {
  config: ProxyConfig;
  pac: PacSetting | undefined;
}

/** Per client: compiled again only when a variable either part read (JAATO_PAC_URL too) has changed. */
const routings = new EnvCache<object, Routing>({ shared: false });

/**
 * The routing for `owner`'s options and the environment as it is now. `JAATO_PAC_URL` is tracked with
 * the configuration's variables, so a request checks each once and builds nothing while they hold.
 */
export function resolveRouting(owner: object, options: ProxyOptions | undefined, pac: string | undefined): Routing {
  const env = options?.env ?? process.env;
  return routings.get(owner, env, (view) => ({ pac: pacSetting(pac, view), config: new ProxyConfig({ ...options, env: view }) }));
}
