import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { ProxyEndpoint } from '../config/proxy-url.js';
import { ProxyConnectionError, ProxyTimeoutError } from './errors.js';

export interface DialOptions {
  /** Milliseconds for TCP (and TLS, for an https:// proxy) to the proxy. */
  timeout: number;
  /** TLS options for an https:// proxy (ca, rejectUnauthorized...). */
  proxyTls?: ConnectionOptions;
}

/** Opens a connection to the proxy itself: TCP, or TLS for an `https://` proxy. */
export function dialProxy(proxy: ProxyEndpoint, options: DialOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket: Socket =
      proxy.protocol === 'https:'
        ? tlsConnect({ ...options.proxyTls, host: proxy.hostname, port: proxy.port, servername: isIP(proxy.hostname) !== 0 ? '' : proxy.hostname, ALPNProtocols: ['http/1.1'] })
        : netConnect({ host: proxy.hostname, port: proxy.port });
    const ready = proxy.protocol === 'https:' ? 'secureConnect' : 'connect';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ProxyTimeoutError(proxy, 'connecting to', options.timeout, 'connect'));
    }, options.timeout);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
    const onError = (error: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ProxyConnectionError(proxy, error.code ? `${error.code} (${error.message})` : error.message, error));
    };
    socket.once('error', onError);
  });
}
