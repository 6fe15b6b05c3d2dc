import type { Socket } from 'node:net';
import type { ProxyRoute } from '../config/proxy-config.js';
import { debug } from '../debug.js';
import { ProxyAuthSession, type ProxyAuthOptions } from './proxy-auth-session.js';
import { dialProxy, type DialOptions } from './proxy-socket.js';

export interface ForwardOptions extends ProxyAuthOptions, DialOptions {
  /** Mint a pre-auth token for the connection (default). Off for a connection whose request carries its own. */
  preAuth?: boolean;
  /** Ends the wait for the connection's token at once (the request was destroyed). */
  signal?: AbortSignal;
}

const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/1\.[01]\r\n/;
const HAS_PROXY_AUTH = /\r\nproxy-authorization:/i;

/**
 * Opens a connection to the proxy for absolute-form (`GET http://host/path`) requests to `http:`
 * targets. Stock corporate Squids allow CONNECT only to 443, so plain HTTP is forwarded, not tunnelled.
 *
 * Negotiate authenticates the connection, so the token belongs to the connection, not to a request:
 * a fresh one is minted here, once per new connection, and written into the head of the first request
 * that goes out on it. Later requests on the kept-alive connection need none.
 */
export async function openForwardSocket(route: ProxyRoute, options: ForwardOptions): Promise<Socket> {
  const socket = await dialProxy(route.proxy, options);
  if (route.auth !== 'negotiate' || options.preAuth === false) return socket;
  try {
    const header = await new ProxyAuthSession(route, options).preAuth(options.signal);
    if (header) injectIntoFirstRequest(socket, header);
    debug('forward connection to %s (%s)', route.proxy.redacted, header ? 'pre-auth negotiate' : 'no pre-auth');
    return socket;
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

/**
 * Adds `Proxy-Authorization` to the first request head written on the socket, then restores the
 * socket's own `write`. HTTP/1 clients (undici, node:http) write a request head as one string that
 * starts with the request line; anything else is left untouched and the 407 handler covers it. A head
 * that already carries the header (a 407 retry) keeps its own, so no request has two.
 */
export function injectIntoFirstRequest(socket: Socket, value: string): void {
  const original = socket.write;
  const patched = function (this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
    socket.write = original;
    let out = chunk;
    // The head is written alone (the body, if any, in later writes), so the whole string is the head.
    if (typeof chunk === 'string' && REQUEST_LINE.test(chunk) && !HAS_PROXY_AUTH.test(chunk)) {
      const eol = chunk.indexOf('\r\n') + 2;
      out = `${chunk.slice(0, eol)}proxy-authorization: ${value}\r\n${chunk.slice(eol)}`;
    }
    return (original as (...a: unknown[]) => boolean).call(this, out, ...rest);
  };
  socket.write = patched as typeof socket.write;
}
