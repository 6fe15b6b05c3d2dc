import { agentsFor, type ProxyAgentOptions, type ProxyAgents } from './node/agents.js';

/** Options to pass to `got` (or `got.extend`): `{ agent: { http, https } }`. got throws on a bare agent. */
export function getGotOptions(options?: ProxyAgentOptions): { agent: Pick<ProxyAgents, 'http' | 'https'> } {
  const agents = agentsFor(options);
  return { agent: { http: agents.http, https: agents.https } };
}
