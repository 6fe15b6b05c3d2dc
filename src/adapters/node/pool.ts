import type { ClientRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Route } from '../../config/proxy-config.js';

/** Where `addRequest` leaves its routing decision, in the options Node hands on to createConnection. */
export const ROUTE = Symbol('jaato-proxy.route');

/** The options our agents see from Node, with the field they add. */
export interface PoolOptions {
  [ROUTE]?: Route;
}

export type SocketCallback = (error: Error | null, socket?: Duplex) => void;

/**
 * Fails a request the way Node fails one whose socket could not be created: `'error'` then `'close'`,
 * on the next tick, so a listener attached after `http.get()` returns hears it, and nothing is thrown
 * out of the `ClientRequest` constructor.
 */
export function failRequest(req: ClientRequest, error: Error): void {
  (req as unknown as { onSocket(socket: Duplex | undefined, error: Error): void }).onSocket(undefined, error);
}
