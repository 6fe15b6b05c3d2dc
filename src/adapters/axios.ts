/**
 * `jaato-proxy/axios`: kept off the root entry point because its types name axios' own, which projects
 * without axios cannot resolve.
 */
import { createRequire } from 'node:module';
import type { AxiosInstance, AxiosStatic, CreateAxiosDefaults } from 'axios';
import http, { Agent as HttpAgent } from 'node:http';
import https, { Agent as HttpsAgent } from 'node:https';
import { getAxiosConfig } from './axios-config.js';
import { programAxiosCopies, type AxiosDefaultsHolder } from './axios-copies.js';
import { getDefaultAgents, ProxyHttpAgent, ProxyHttpsAgent, type ProxyAgentOptions } from './node/agents.js';

export { getAxiosConfig, type AxiosProxyConfig } from './axios-config.js';

/** The seed's `get_requests_session()`: an axios instance routed through jaato-proxy. Needs `axios` installed. */
export function createAxios(config: CreateAxiosDefaults = {}, options?: ProxyAgentOptions): AxiosInstance {
  const axios = createRequire(import.meta.url)('axios') as AxiosStatic;
  return axios.create({ ...config, ...getAxiosConfig(undefined, options) });
}

export type { AxiosDefaultsHolder } from './axios-copies.js';

/** An agent a user gave axios that is not a proxy agent: Node's own classes (they would go direct). */
function plainAgent(agent: unknown): boolean {
  return agent === undefined || agent === null || (agent as object).constructor === HttpAgent || (agent as object).constructor === HttpsAgent;
}

function wire(axios: AxiosDefaultsHolder): void {
  axios.defaults.proxy = false;
  // Under the global install the agents behind http(s).globalAgent route (asked of the agents, not of
  // install/, which sits above the adapters); without one, ours go in the defaults, so proxy: false
  // never means direct.
  if (http.globalAgent instanceof ProxyHttpAgent && https.globalAgent instanceof ProxyHttpsAgent) return;
  const agents = getDefaultAgents();
  if (plainAgent(axios.defaults.httpAgent)) axios.defaults.httpAgent = agents.http;
  if (plainAgent(axios.defaults.httpsAgent)) axios.defaults.httpsAgent = agents.https;
}

/**
 * Puts axios behind jaato-proxy in one call. axios reads `HTTPS_PROXY`/`HTTP_PROXY` itself and then talks
 * to the proxy with agents of its own, without Negotiate (the proxy answers 407); with `proxy: false`
 * in its defaults it hands each request to node:http's agents, and so routing, Negotiate and the 407
 * handler apply. Under the global install (`install()`, `--import jaato-proxy/register`) those are
 * http(s).globalAgent; without one, this also puts the process-wide proxy agents in the defaults
 * (replacing a plain `http.Agent`/`https.Agent` there), so axios never goes direct where the
 * configuration says to proxy.
 *
 * - `installAxios(axios)`: the axios you import (or an instance made by `axios.create()`, which copied
 *   the defaults when it was made: pass each one made before this call).
 * - `installAxios()`: resolves once both copies the program loads from its entry script (the CommonJS
 *   build and the ES module one: two sets of defaults) are wired.
 */
export function installAxios(target: AxiosDefaultsHolder): void;
export function installAxios(): Promise<void>;
export function installAxios(target?: AxiosDefaultsHolder): void | Promise<void> {
  if (target) return wire(target);
  return programAxiosCopies().then((copies) => copies.forEach(wire));
}
