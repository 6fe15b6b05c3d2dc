import type { Socket } from 'node:net';
import { InvalidTargetUrlError } from '../../config/errors.js';
import { unbracket } from '../../config/host.js';

/** The connection options Node's Agent passes to `createConnection` (its own and the request's, merged). */
export type ConnectOptions = { host?: string | null; hostname?: string | null; port?: number | string | null; servername?: string; path?: string | null } & Record<string, unknown>;

/** The origin a request is for, from the options Node gives the agent (`path` only for naming and routing). */
export function originOf(scheme: 'http:' | 'https:', o: ConnectOptions, path = '/'): URL {
  const host = unbracket(o.hostname ?? o.host ?? 'localhost');
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const href = `${scheme}//${hostPart}${o.port ? `:${o.port}` : ''}${path.startsWith('/') ? path : '/'}`;
  try {
    return new URL(href);
  } catch {
    throw new InvalidTargetUrlError(`${scheme}//${hostPart}${o.port ? `:${o.port}` : ''}/`);
  }
}

/** Resolves with the socket once it is connected (`ready`: 'connect', or 'secureConnect' for TLS); rejects with its error. */
export function connected<T extends Socket>(socket: T, signal: AbortSignal, ready: 'connect' | 'secureConnect' = 'connect'): Promise<T> {
  if (ready === 'connect' && !socket.connecting) return Promise.resolve(socket);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason);
    };
    const onError = (error: Error): void => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once(ready, () => {
      signal.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
