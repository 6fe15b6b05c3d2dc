import { createSecureContext, type ConnectionOptions } from 'node:tls';
import { InvalidOptionError } from '../config/errors.js';
import { ProxyConfig, type ProxyOptions } from '../config/proxy-config.js';
import type { ProxyAuthOptions } from './proxy-auth-session.js';
import { defaultCaCertificates, secureContextTrusting } from './trust.js';

/** Options shared by every adapter: where to route (ProxyOptions) and how to connect. */
export interface ProxyClientOptions extends ProxyOptions, ProxyAuthOptions {
  /**
   * A PAC file (`http(s)://`, `file://` or a path) that chooses the proxy per request, instead of
   * `JAATO_PAC_URL`. The bypass lists still come first; the PAC wins over the proxy variables.
   */
  pac?: string;
  /** Milliseconds to connect to the proxy (or origin) and, through a proxy, to get the CONNECT answer. Default 10 000. */
  connectTimeout?: number;
  /**
   * CA certificates trusted for origins (TLS is end to end with the origin) in addition to Node's
   * default trust (its roots, `NODE_EXTRA_CA_CERTS`): unlike Node's own `ca`, it does not replace them.
   */
  ca?: ConnectionOptions['ca'];
  /** Verify origin certificates (default true). */
  rejectUnauthorized?: boolean;
  /**
   * TLS options for the connection to an `https://` proxy (TLS to the proxy itself, under the
   * tunnel's own TLS to the origin): e.g. a client certificate (`cert`, `key`), `rejectUnauthorized`.
   * A `ca` here is Node's: it replaces the default trust. To add a corporate CA, use `proxyCa`.
   */
  proxyTls?: ConnectionOptions;
  /**
   * CA certificates trusted for an `https://` proxy's certificate, in addition to Node's default
   * trust (its roots, `NODE_EXTRA_CA_CERTS`), as `ca` is for origins; combined with `proxyTls`
   * (its `ca`, when given, replaces the defaults it is added to). Not with `proxyTls.secureContext`:
   * add the CA to that context instead.
   */
  proxyCa?: ConnectionOptions['ca'];
  /**
   * Bytes of a streamed request body (a stream, an async iterable, any body of Node's fetch, what
   * node:http writes) kept so that the request can be sent again when the proxy answers 407; default
   * 4 MiB. Past it, such a 407 fails the request with RequestBodyReplayError. Strings, Buffers, Blobs
   * and FormData given to fetch or the dispatcher need no copy.
   */
  bodyReplayLimit?: number;
}

export const DEFAULT_CONNECT_TIMEOUT = 10_000;

/** Just the routing options (undefined when none are given: then the environment alone decides). */
export function routingOptions(o: ProxyClientOptions): ProxyOptions | undefined {
  const { proxy, proxySource, httpProxy, httpsProxy, noProxy, exactNoProxy, kerberos, proxyAuth, spn, platform, env } = o;
  const config: ProxyOptions = { proxy, proxySource, httpProxy, httpsProxy, noProxy, exactNoProxy, kerberos, proxyAuth, spn, platform, env };
  for (const k of Object.keys(config) as Array<keyof ProxyOptions>) if (config[k] === undefined) delete config[k];
  if (Object.keys(config).length === 0) return undefined;
  // Fail now, not on the first request, for explicit options that cannot work. The environment is
  // left out: it is read per request, and a bad variable must fail those requests, not this constructor
  // (per-request helpers such as getGotOptions() construct agents on a request's path).
  new ProxyConfig({ ...config, env: {} });
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
  const { requireMutualAuth, principal } = o;
  const proxyTls = proxyTlsOptions(o);
  return {
    timeout: o.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT,
    tokenTimeout: o.tokenTimeout ?? o.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT,
    ...(proxyTls && { proxyTls }),
    ...(requireMutualAuth && { requireMutualAuth }),
    ...(principal && { principal }),
  };
}

const contexts = new WeakMap<object, ConnectionOptions['secureContext']>();
const proxyContexts = new WeakMap<object, ConnectionOptions>();

/**
 * `proxyTls` with `proxyCa` folded in as one secure context per options object, so the trust bundle is
 * parsed once, not on every connection to the proxy (transportOptions() runs per connection).
 */
function proxyTlsOptions(o: ProxyClientOptions): ConnectionOptions | undefined {
  if (o.proxyCa === undefined) return o.proxyTls;
  let tls = proxyContexts.get(o);
  if (!tls) {
    const { proxyTls, proxyCa } = o;
    if (proxyTls?.secureContext) throw new InvalidOptionError('proxyCa', 'cannot be combined with proxyTls.secureContext: add the CA to that context');
    const added = Array.isArray(proxyCa) ? proxyCa : [proxyCa];
    const base = proxyTls?.ca === undefined ? defaultCaCertificates() : Array.isArray(proxyTls.ca) ? proxyTls.ca : [proxyTls.ca];
    // Without other TLS settings this is exactly the origin's kind of context; with them (a client
    // certificate, say), the context carries those too, since a secureContext overrides them.
    const secureContext = proxyTls === undefined ? secureContextTrusting(proxyCa) : createSecureContext({ ...proxyTls, ca: [...base, ...added] });
    tls = { ...proxyTls, secureContext };
    delete tls.ca;
    proxyContexts.set(o, tls);
  }
  return tls;
}

/** TLS options for origins; a `ca` becomes one secure context per options object (see trust.ts). */
export function originTls(o: ProxyClientOptions): ConnectionOptions {
  const tls: ConnectionOptions = {};
  if (o.ca !== undefined) {
    let context = contexts.get(o);
    if (!context) {
      context = secureContextTrusting(o.ca);
      contexts.set(o, context);
    }
    tls.secureContext = context;
  }
  if (o.rejectUnauthorized !== undefined) tls.rejectUnauthorized = o.rejectUnauthorized;
  return tls;
}
