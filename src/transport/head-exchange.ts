import type { Socket } from 'node:net';
import { readResponseHead, type ResponseHead } from './response-head.js';

export interface HeadExchange {
  /** The request's method, which frames the answer (a CONNECT's 2xx and a HEAD's answer have no body). */
  method: string;
  /** Milliseconds to wait for the answer's head; past them the socket is destroyed. */
  wait: number;
  /** The error for a silence past `wait`. */
  timedOut: () => Error;
  /** The error for a head that could not be read (closed, malformed, too large). */
  failed: (error: Error) => Error;
  /** The bytes after the head stay in the socket: the caller reads the body (readResponseHead). */
  keepBody?: boolean;
}

/**
 * The one raw exchange of a head on a socket to the proxy, for the tunnel's CONNECT, the probe and
 * doctor's auth-mode check: writes `request`, reads the answer's head (the strict reader) under a
 * timer. Each caller names its own errors.
 */
export function exchangeHead(socket: Socket, request: string, exchange: HeadExchange): Promise<ResponseHead> {
  socket.write(request);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(exchange.timedOut());
    }, exchange.wait);
    readResponseHead(socket, { method: exchange.method, ...(exchange.keepBody && { keepBody: true }) }).then(
      (res) => {
        clearTimeout(timer);
        resolve(res);
      },
      (error: Error) => {
        clearTimeout(timer);
        reject(exchange.failed(error));
      },
    );
  });
}
