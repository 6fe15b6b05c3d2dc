import { connect, type Socket } from 'node:net';
import { JaatoProxyError } from '../errors.js';

/** A direct dial (a tunnel or upgrade serve makes itself, no proxy) that did not connect within its bound. */
export class DirectConnectTimeoutError extends JaatoProxyError {
  readonly host: string;
  readonly port: number;
  readonly timeout: number;

  constructor(host: string, port: number, timeout: number) {
    super('ERR_JAATO_CONNECT_TIMEOUT', `Timed out after ${timeout} ms connecting to ${host.includes(':') ? `[${host}]` : host}:${port} (direct)`);
    this.name = 'DirectConnectTimeoutError';
    this.host = host;
    this.port = port;
    this.timeout = timeout;
  }
}

/**
 * A direct TCP connection for a client's tunnel or upgrade, bounded as every other dial is (the
 * connect timeout, default 10 s): an address that drops SYNs would otherwise hold the client for the
 * system's connect timeout (minutes).
 */
export function connectDirect(host: string, port: number, timeout: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new DirectConnectTimeoutError(host, port, timeout));
    }, timeout);
    s.once('connect', () => {
      clearTimeout(timer);
      s.off('error', onError);
      resolve(s);
    });
    const onError = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    s.once('error', onError);
  });
}
