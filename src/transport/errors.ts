import { JaatoProxyError } from '../errors.js';
import type { ProxyEndpoint } from '../config/proxy-url.js';

function where(proxy: ProxyEndpoint): string {
  return `proxy ${proxy.redacted} (from ${proxy.source})`;
}

/** The proxy could not be reached (refused, unreachable, DNS, TLS to the proxy). */
export class ProxyConnectionError extends JaatoProxyError {
  readonly proxy: string;
  constructor(proxy: ProxyEndpoint, detail: string, cause?: unknown) {
    super('ERR_JAATO_PROXY_CONNECT', `Cannot connect to ${where(proxy)}: ${detail}`, { cause });
    this.proxy = proxy.redacted;
  }
}

/** Connecting to the proxy, or its answer to CONNECT, took longer than the timeout. */
export class ProxyTimeoutError extends JaatoProxyError {
  readonly proxy: string;
  constructor(proxy: ProxyEndpoint, what: string, ms: number) {
    super('ERR_JAATO_PROXY_TIMEOUT', `Timed out after ${ms} ms ${what} ${where(proxy)}`);
    this.proxy = proxy.redacted;
  }
}

/** The proxy refused the tunnel (non-2xx CONNECT other than an answerable 407) or closed during it. */
export class ProxyTunnelError extends JaatoProxyError {
  readonly proxy: string;
  readonly statusCode: number | undefined;
  constructor(proxy: ProxyEndpoint, target: string, detail: string, statusCode?: number) {
    super('ERR_JAATO_PROXY_TUNNEL', `${where(proxy)} did not open a tunnel to ${target}: ${detail}`);
    this.proxy = proxy.redacted;
    this.statusCode = statusCode;
  }
}

/** Proxy authentication failed for good: the 407s could not be answered within the retry bound. */
export class ProxyAuthenticationError extends JaatoProxyError {
  readonly proxy: string;
  /** Schemes the proxy offered in its last 407, lower case. */
  readonly offered: readonly string[];
  constructor(proxy: ProxyEndpoint, offered: readonly string[], reason: string, cause?: unknown) {
    const schemes = offered.length > 0 ? offered.map((s) => s[0]?.toUpperCase() + s.slice(1)).join(', ') : 'none';
    super('ERR_JAATO_PROXY_AUTH', `${where(proxy)} requires authentication (407; offers: ${schemes}): ${reason}`, { cause });
    this.proxy = proxy.redacted;
    this.offered = offered;
  }
}
