import type { Agent as HttpAgent, ClientRequest } from 'node:http';

/** Node's Agent#addRequest: called by every ClientRequest, used by agent-base and proxy-agent, not in @types/node. */
interface NodeAgent {
  addRequest(req: ClientRequest, options: object): void;
}

/** Every Node line's Agent has it; checked rather than asserted, since @types/node does not declare it. */
function hasAddRequest(agent: object): agent is NodeAgent {
  return typeof (agent as Partial<NodeAgent>).addRequest === 'function';
}

/** Hands `req` to `agent` as node:http itself does (a router's delegate, a route's agent). */
export function addRequest(agent: HttpAgent, req: ClientRequest, options: object): void {
  if (!hasAddRequest(agent)) throw new TypeError('node:http Agent has no addRequest');
  agent.addRequest(req, options);
}
