import type { Agent as HttpAgent } from 'node:http';

/** Route agents kept per router: past this many, an idle one (no socket in use) is dropped and destroyed. */
const MAX_ROUTE_AGENTS = 32;

/**
 * The route agents of one router, by route key: one agent, one pool, per route (direct, a proxy with
 * its credential, a PAC's list of routes, tunnel or forwarded), so a socket of one route never carries
 * a request of another (proxy-agent's LRU of agents, over agent-base).
 */
export class RouteAgents<A extends HttpAgent> {
  readonly #agents = new Map<string, A>();

  get(key: string, create: () => A): A {
    let agent = this.#agents.get(key);
    if (agent) {
      this.#agents.delete(key); // most recently used last
      this.#agents.set(key, agent);
      return agent;
    }
    agent = create();
    this.#agents.set(key, agent);
    if (this.#agents.size > MAX_ROUTE_AGENTS) {
      for (const [k, old] of this.#agents) {
        if (Object.keys(old.sockets).length > 0 || Object.keys(old.requests).length > 0) continue;
        this.#agents.delete(k);
        old.destroy();
        break;
      }
    }
    return agent;
  }

  destroy(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}
