import { Agent as HttpAgent, type ClientRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { addRequest } from './add-request.js';
import { PendingConnection } from './pending-connection.js';

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
  addRequest(new RefusingAgent(error instanceof Error ? error : new Error(String(error))), req, options);
}
