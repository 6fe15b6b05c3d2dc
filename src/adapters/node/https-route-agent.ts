import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { ProxyRoute, Route } from '../../config/proxy-config.js';
import { unbracket } from '../../config/host.js';
import { debug } from '../../debug.js';
import type { PacRouter } from '../../pac/pac-router.js';
import { openFirstReachable } from '../../pac/first-reachable.js';
import { ProxyTimeoutError, tunnelFailure } from '../../transport/errors.js';
import { openTunnel } from '../../transport/tunnel.js';
import { transportOptions, type ProxyClientOptions } from '../../transport/options.js';
import { openWithRetry } from './dial-retry.js';
import { PendingConnection } from './pending-connection.js';
import { connected, originOf, type ConnectOptions } from './route-target.js';

/**
 * TLS options for the origin handshake inside a tunnel. Node checks the certificate against
 * `servername || host || socket._host || 'localhost'`; with `host` left out (as https-proxy-agent does)
 * an IP-literal target would be checked against the proxy's name or `localhost`. So the identity is
 * the one a direct request would check: the servername Node derived from the Host header, if any, else
 * the target as written, IP literals included. SNI is sent for names only (RFC 6066 §3).
 */
function tunnelTls(options: ConnectOptions, target: string): ConnectionOptions {
  const { host: _host, port: _port, path: _path, servername, ...tls } = options;
  const identity = servername ? servername : target;
  return { ...(tls as ConnectionOptions), host: identity, ...(isIP(identity) === 0 && { servername: identity }) };
}

/**
 * The `node:https` agent of one route: a proxy (with its credential) or, from a PAC, a list of routes
 * tried in order. A plain `https.Agent` whose `createConnection` returns the connection at once (a
 * PendingConnection), so Node's pool, limits, keep-alive and queue work unchanged: through a proxy, a
 * CONNECT tunnel (Negotiate on the CONNECT, 407s answered on it) and then TLS with the origin, the
 * certificate checked against the target as the request named it; DIRECT (a PAC's answer), TLS
 * straight to the origin. Nothing of the request is read or changed: the TLS is end to end.
 */
export class HttpsRouteAgent extends HttpsAgent {
  readonly #routes: readonly Route[];
  readonly #router: PacRouter | undefined;
  readonly #client: ProxyClientOptions;

  constructor(routes: readonly Route[], router: PacRouter | undefined, client: ProxyClientOptions, agent: AgentOptions) {
    super(agent);
    this.#routes = routes;
    this.#router = router;
    this.#client = client;
  }

  override createConnection(options: ConnectOptions): Duplex {
    const pending: PendingConnection = new PendingConnection(async (signal) => {
      const { value, route } = await openWithRetry(this.#routes, 'CONNECT', signal, () => openFirstReachable(this.#routes, this.#router, (r) => this.#open(r, options, signal)));
      pending.detail = route;
      // The tunnel breaking under a request (the proxy died) is the proxy's failure, typed as on
      // fetch; the origin's own errors (TLS, HTTP) pass unchanged. Origin only: a path can hold secrets.
      if (route.type === 'proxy') {
        const what = `a request to ${originOf('https:', options).origin}`;
        pending.failure = (e) => tunnelFailure(route.proxy, what, e);
      }
      return value;
    });
    return pending;
  }

  async #open(route: Route, options: ConnectOptions, signal: AbortSignal): Promise<Duplex> {
    if (route.type === 'direct') {
      debug('node:https %s: direct (%s)', originOf('https:', options).origin, route.rule);
      return connected(tlsConnect(options as ConnectionOptions), signal, 'secureConnect');
    }
    return this.#tunnel(route, options, signal);
  }

  // tls.connect runs inside the promise, so a TLS option it throws on rejects it instead of escaping.
  async #tunnel(route: ProxyRoute, options: ConnectOptions, signal: AbortSignal): Promise<Duplex> {
    const target = originOf('https:', options);
    const host = unbracket(target.hostname);
    const port = Number(target.port) || 443;
    const transport = transportOptions(this.#client);
    // One bound for dial, token and answer, from the dial's start (tunnel.ts).
    const deadline = performance.now() + transport.timeout;
    const raw = await openTunnel(route, host, port, { ...transport, signal, deadline });
    let socket;
    try {
      socket = tlsConnect({ ...tunnelTls(options, host), socket: raw });
    } catch (error) {
      raw.destroy();
      throw error;
    }
    // A tunnel that carries nothing back would hold the handshake forever: bound it as fetch does.
    const timer = setTimeout(() => socket.destroy(new ProxyTimeoutError(route.proxy, `on the TLS handshake with ${host}:${port} through`, transport.timeout, 'tls')), transport.timeout);
    try {
      return await connected(socket, signal, 'secureConnect');
    } finally {
      clearTimeout(timer);
    }
  }
}
