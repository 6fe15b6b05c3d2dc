import { createRequire } from 'node:module';
import type { AxiosInstance, AxiosStatic, CreateAxiosDefaults } from 'axios';
import { agentsFor, type ProxyAgentOptions } from './node/agents.js';

/** What to spread into an axios config: our agents, and `proxy: false`. */
export interface AxiosProxyConfig {
  /** Without it axios rewrites the request to the env proxy itself, before the agent sees it. */
  proxy: false;
  httpAgent: import('node:http').Agent;
  httpsAgent: import('node:https').Agent;
}

/**
 * The seed's `get_requests_kwargs(url)`: the config for one axios request. The route is decided per
 * request by the agents, so the URL is accepted for parity and not needed.
 */
export function getAxiosConfig(_url?: string | URL, options?: ProxyAgentOptions): AxiosProxyConfig {
  const agents = agentsFor(options);
  return { proxy: false, httpAgent: agents.http, httpsAgent: agents.https };
}

/** The seed's `get_requests_session()`: an axios instance routed through jaato-proxy. Needs `axios` installed. */
export function createAxios(config: CreateAxiosDefaults = {}, options?: ProxyAgentOptions): AxiosInstance {
  const axios = createRequire(import.meta.url)('axios') as AxiosStatic;
  return axios.create({ ...config, ...getAxiosConfig(undefined, options) });
}
