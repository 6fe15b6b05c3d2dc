import type { ProxyEndpoint } from '../config/proxy-url.js';
import { offeredSchemes, parseChallenges } from '../auth/challenge.js';
import { dialProxy, type DialOptions } from './proxy-socket.js';
import { readResponseHead } from './response-head.js';
import { ProxyTimeoutError, ProxyTunnelError } from './errors.js';

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
 * absolute form for an http one. Nothing secret is sent.
 */
export async function probeProxy(proxy: ProxyEndpoint, target: URL, options: DialOptions): Promise<ProbeResult> {
  const started = performance.now();
  const socket = await dialProxy(proxy, options);
  try {
    const tls = target.protocol === 'https:' || target.protocol === 'wss:';
    const authority = `${target.hostname}:${target.port || (tls ? 443 : 80)}`;
    socket.write(tls ? `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n` : `HEAD ${target.href} HTTP/1.1\r\nHost: ${target.host}\r\nConnection: close\r\n\r\n`);
    const timer = setTimeout(() => socket.destroy(new ProxyTimeoutError(proxy, 'waiting for the answer of', options.timeout)), options.timeout);
    const head = await readResponseHead(socket, { connect: tls }).finally(() => clearTimeout(timer)).catch((error: Error) => {
      throw error instanceof ProxyTimeoutError ? error : new ProxyTunnelError(proxy, authority, error.message);
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
