import type { ProxyEndpoint } from '../config/proxy-url.js';
import { offeredSchemes, parseChallenges } from '../auth/challenge.js';
import { dialProxy, type DialOptions } from './proxy-socket.js';
import { exchangeHead } from './head-exchange.js';
import { ProxyConnectionError, ProxyTimeoutError, ProxyTunnelError } from './errors.js';

export interface ProbeResult {
  /** Milliseconds to connect and get the answer. */
  ms: number;
  statusCode: number;
  statusText: string;
  /** Schemes in the proxy's Proxy-Authenticate challenges, lower case. */
  offered: string[];
}

/**
 * Asks the proxy without credentials, to see what it demands: CONNECT for an https target, a HEAD in
 * absolute form for an http one. Nothing secret is sent. Only the answer's head is read; the
 * connection is closed after it.
 *
 * A failure is typed by what was asked: for CONNECT a ProxyTunnelError (no tunnel), for HEAD a
 * ProxyConnectionError naming the request (the exchange with the proxy failed); a silence is a
 * ProxyTimeoutError either way.
 */
export async function probeProxy(proxy: ProxyEndpoint, target: URL, options: DialOptions): Promise<ProbeResult> {
  const started = performance.now();
  const socket = await dialProxy(proxy, options);
  try {
    const tls = target.protocol === 'https:' || target.protocol === 'wss:';
    const authority = `${target.hostname}:${target.port || (tls ? 443 : 80)}`;
    // Errors name the request by method and origin, never the path or query (they can hold secrets).
    const what = tls ? `CONNECT ${authority}` : `HEAD ${target.origin}`;
    // Absolute form without userinfo or fragment (RFC 9112 §3.2.2: an absolute-URI has no fragment).
    const absolute = `${target.origin}${target.pathname}${target.search}`;
    const request = tls ? `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n` : `HEAD ${absolute} HTTP/1.1\r\nHost: ${target.host}\r\nConnection: close\r\n\r\n`;
    const head = await exchangeHead(socket, request, {
      method: tls ? 'CONNECT' : 'HEAD',
      wait: options.timeout,
      timedOut: () => new ProxyTimeoutError(proxy, `waiting for the answer to ${what} from`, options.timeout, tls ? 'connect-response' : 'response'),
      failed: (error) => (tls ? new ProxyTunnelError(proxy, authority, error.message) : new ProxyConnectionError(proxy, error.message, error, what)),
    });
    return {
      ms: Math.round(performance.now() - started),
      statusCode: head.statusCode,
      statusText: head.statusText,
      offered: offeredSchemes(parseChallenges(head.headers['proxy-authenticate'])),
    };
  } finally {
    socket.destroy();
  }
}
