import type { ConnectionOptions } from 'node:tls';
import { resolveConfig, type ProxyOptions } from '../config/proxy-config.js';
import type { ProxyAuthOptions } from '../transport/connection-auth.js';

/** Options shared by every adapter: where to route (ProxyOptions) and how to connect. */
export interface ProxyClientOptions extends ProxyOptions, ProxyAuthOptions {
  /** Milliseconds to connect to the proxy (or origin) and, through a proxy, to get the CONNECT answer. Default 10 000. */
  connectTimeout?: number;
  /** Trusted CA certificates for origins (TLS is end to end with the origin). Default: Node's. */
  ca?: ConnectionOptions['ca'];
  /** Verify origin certificates (default true). */
  rejectUnauthorized?: boolean;
  /** TLS options for the connection to an `https://` proxy. */
  proxyTls?: ConnectionOptions;
}

export const DEFAULT_CONNECT_TIMEOUT = 10_000;

/** Just the routing options (undefined when none are given: then the environment alone decides). */
export function routingOptions(o: ProxyClientOptions): ProxyOptions | undefined {
  const { proxy, httpProxy, httpsProxy, noProxy, exactNoProxy, kerberos, spn, platform, env } = o;
  const config: ProxyOptions = { proxy, httpProxy, httpsProxy, noProxy, exactNoProxy, kerberos, spn, platform, env };
  for (const k of Object.keys(config) as Array<keyof ProxyOptions>) if (config[k] === undefined) delete config[k];
  if (Object.keys(config).length === 0) return undefined;
  resolveConfig(config); // fail now, not on the first request, for explicit options that cannot work
  return config;
}

/** What the transport layer needs: timeouts, proxy TLS and the auth options. */
export function transportOptions(o: ProxyClientOptions): {
  timeout: number;
  tokenTimeout: number;
  proxyTls?: ConnectionOptions;
  requireMutualAuth?: boolean;
  principal?: string;
} {
  const { proxyTls, requireMutualAuth, principal } = o;
  return {
    timeout: o.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT,
    tokenTimeout: o.tokenTimeout ?? o.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT,
    ...(proxyTls && { proxyTls }),
    ...(requireMutualAuth && { requireMutualAuth }),
    ...(principal && { principal }),
  };
}

/** TLS options for origins. */
export function originTls(o: ProxyClientOptions): ConnectionOptions {
  const tls: ConnectionOptions = {};
  if (o.ca !== undefined) tls.ca = o.ca;
  if (o.rejectUnauthorized !== undefined) tls.rejectUnauthorized = o.rejectUnauthorized;
  return tls;
}
