/**
 * `jaato-proxy/axios`: kept off the root entry point because its types name axios' own, which projects
 * without axios cannot resolve.
 */
import { createRequire } from 'node:module';
import type { AxiosInstance, AxiosStatic, CreateAxiosDefaults } from 'axios';
import { getAxiosConfig } from './axios-config.js';
import type { ProxyAgentOptions } from './node/agents.js';

export { getAxiosConfig, type AxiosProxyConfig } from './axios-config.js';

/** The seed's `get_requests_session()`: an axios instance routed through jaato-proxy. Needs `axios` installed. */
export function createAxios(config: CreateAxiosDefaults = {}, options?: ProxyAgentOptions): AxiosInstance {
  const axios = createRequire(import.meta.url)('axios') as AxiosStatic;
  return axios.create({ ...config, ...getAxiosConfig(undefined, options) });
}

/** What installAxios() needs of axios: the default export, or an instance made by `axios.create()`. */
export interface AxiosDefaultsHolder {
  defaults: { proxy?: unknown };
}

/**
 * Puts axios behind the global install (`install()`, `--import jaato-proxy/register`). axios reads
 * `HTTPS_PROXY`/`HTTP_PROXY` itself and then talks to the proxy with agents of its own, without
 * Negotiate (the proxy answers 407), so the agents behind `http.globalAgent`/`https.globalAgent`
 * never see its requests. With `proxy: false` in its defaults axios uses those agents, and so routing,
 * Negotiate and the 407 handler apply. Call it with the axios you import; an instance made by
 * `axios.create()` before this call copied the old defaults, so pass each such instance too.
 */
export function installAxios(target?: AxiosDefaultsHolder): void {
  const axios = target ?? (createRequire(import.meta.url)('axios') as AxiosDefaultsHolder);
  axios.defaults.proxy = false;
}
