import { Agent as HttpAgent, type ClientRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { PendingConnection } from './pending-connection.js';

/** Node's Agent#addRequest: called by every ClientRequest, used by agent-base and proxy-agent, not in @types/node. */
interface NodeAgent {
  addRequest(req: ClientRequest, options: object): void;
}

/** Every Node line's Agent has it; checked rather than asserted, since @types/node does not declare it. */
function hasAddRequest(agent: object): agent is NodeAgent {
  return typeof (agent as Partial<NodeAgent>).addRequest === 'function';
}

/**
 * A request that cannot be routed (a malformed variable set at run time, a PAC that failed) fails the
 * way Node fails one whose connection could not be made: Node's own Agent gives it a connection that
 * fails at once, and the request gets `'error'` then `'close'` on a later tick, so nothing is thrown
 * out of `http.request()` and a listener attached after it returns hears it.
 */
class RefusingAgent extends HttpAgent {
  readonly #error: Error;

  constructor(error: Error) {
    super({ keepAlive: false });
    this.#error = error;
  }

  override createConnection(): Duplex {
    const error = this.#error;
    return new PendingConnection(() => Promise.reject(error));
  }
}

export function refuse(req: ClientRequest, options: object, error: unknown): void {
  const agent = new RefusingAgent(error instanceof Error ? error : new Error(String(error)));
  if (!hasAddRequest(agent)) throw new TypeError('node:http Agent has no addRequest');
  agent.addRequest(req, options);
}
