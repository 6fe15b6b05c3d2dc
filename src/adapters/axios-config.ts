import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { agentsFor, type ProxyAgentOptions } from './node/agents.js';

/** What to spread into an axios config: our agents, and `proxy: false`. Typed without axios, on purpose. */
export interface AxiosProxyConfig {
  /** Without it axios rewrites the request to the env proxy itself, before the agent sees it. */
  proxy: false;
  httpAgent: HttpAgent;
  httpsAgent: HttpsAgent;
}

/**
 * The seed's `get_requests_kwargs(url)`: the config for one axios request. The route is decided per
 * request by the agents, so the URL is accepted for parity and not needed.
 */
export function getAxiosConfig(_url?: string | URL, options?: ProxyAgentOptions): AxiosProxyConfig {
  const agents = agentsFor(options);
  return { proxy: false, httpAgent: agents.http, httpsAgent: agents.https };
}
