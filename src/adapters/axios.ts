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
