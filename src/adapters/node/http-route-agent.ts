import { Agent as HttpAgent, type AgentOptions } from 'node:http';
import { createConnection as netConnect, type NetConnectOpts } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyRoute, Route } from '../../config/proxy-config.js';
import { unbracket } from '../../config/host.js';
import { debug } from '../../debug.js';
import type { PacRouter } from '../../pac/pac-router.js';
import { openFirstReachable } from '../../pac/first-reachable.js';
import { ForwardConnection } from '../../transport/forward-connection.js';
import { tunnelFailure } from '../../transport/errors.js';
import { openTunnel } from '../../transport/tunnel.js';
import { transportOptions, type ProxyClientOptions } from '../../transport/options.js';
import { openWithRetry } from './dial-retry.js';
import { PendingConnection } from './pending-connection.js';
import { connected, originOf, type ConnectOptions } from './route-target.js';

/** How an http: request crosses a proxy: forwarded in absolute form, or (an Upgrade) in a CONNECT tunnel. */
export type HttpMode = 'forward' | 'tunnel';

/**
 * The `node:http` agent of one route: a proxy (with its credential) or, from a PAC, a list of routes
 * tried in order. It is a plain `http.Agent` whose `createConnection` returns the connection at once
 * (a PendingConnection), so Node's pool, limits, keep-alive and queue work unchanged; requests come
 * to it from the router with their heads untouched:
 * - forwarded: a ForwardConnection, which puts the request line in absolute form, adds
 *   `Proxy-Authorization` per the proxy-auth session and answers 407s on the wire;
 * - tunnel: a CONNECT to the origin (Negotiate on the CONNECT), then the request as to the origin;
 * - DIRECT (a PAC's answer): a TCP connection to the origin, the request in the origin form Node wrote.
 */
export class HttpRouteAgent extends HttpAgent {
  readonly #routes: readonly Route[];
  readonly #router: PacRouter | undefined;
  readonly #mode: HttpMode;
  readonly #client: ProxyClientOptions;

  constructor(routes: readonly Route[], router: PacRouter | undefined, mode: HttpMode, client: ProxyClientOptions, agent: AgentOptions) {
    super(agent);
    this.#routes = routes;
    this.#router = router;
    this.#mode = mode;
    this.#client = client;
  }

  override createConnection(options: ConnectOptions): Duplex {
    // A forwarded request is named by its method in the retry report; a tunnel by its CONNECT.
    const method = this.#mode === 'tunnel' ? 'CONNECT' : typeof options.method === 'string' ? options.method : 'GET';
    const pending: PendingConnection = new PendingConnection(async (signal) => {
      const { value, route } = await openWithRetry(this.#routes, method, signal, () => openFirstReachable(this.#routes, this.#router, (r) => this.#open(r, options, signal)));
      pending.detail = route;
      // A tunnel that breaks under a request is the proxy's failure, typed as on fetch (the forwarded
      // path's ForwardConnection types its own). Origin only: a path can hold secrets.
      if (route.type === 'proxy' && this.#mode === 'tunnel') {
        const what = `a request to ${originOf('http:', options).origin}`;
        pending.failure = (e) => tunnelFailure(route.proxy, what, e);
      }
      return value;
    });
    return pending;
  }

  async #open(route: Route, options: ConnectOptions, signal: AbortSignal): Promise<Duplex> {
    const origin = originOf('http:', options);
    if (route.type === 'direct') {
      debug('node:http %s: direct (%s)', origin.origin, route.rule);
      return connected(netConnect(options as NetConnectOpts), signal);
    }
    return this.#mode === 'tunnel' ? this.#tunnel(route, origin, signal) : this.#forward(route, origin, signal);
  }

  async #tunnel(route: ProxyRoute, origin: URL, signal: AbortSignal): Promise<Duplex> {
    const transport = transportOptions(this.#client);
    // One bound for dial, token and answer, from the dial's start (tunnel.ts).
    const deadline = performance.now() + transport.timeout;
    const socket = await openTunnel(route, unbracket(origin.hostname), Number(origin.port) || 80, { ...transport, signal, deadline });
    // The tunnel's reader paused the socket; over http the origin does not speak first, so nothing is lost.
    socket.resume();
    return socket;
  }

  async #forward(route: ProxyRoute, origin: URL, signal: AbortSignal): Promise<Duplex> {
    debug('node:http %s: forward via %s', origin.origin, route.proxy.redacted);
    const { bodyReplayLimit } = this.#client;
    const opening = ForwardConnection.open(route, { ...transportOptions(this.#client), ...(bodyReplayLimit !== undefined && { bodyReplayLimit }), origin: origin.origin });
    const connection = await opening;
    if (signal.aborted) {
      connection.destroy();
      throw signal.reason;
    }
    return connection;
  }
}
