import { Agent, buildConnector, Client, Dispatcher, Pool } from 'undici';
import { unbracket } from '../../config/host.js';
import { resolveConfig, type ProxyOptions, type ProxyRoute, type Route } from '../../config/proxy-config.js';
import { pacRouterFor, pacRoutes, pacSetting, type PacSetting } from '../../pac/pac-route.js';
import { proxyUnreachable } from '../../pac/unreachable.js';
import { failoverHandler } from './pac-failover.js';
import { debug } from '../../debug.js';
import { originTls, routingOptions, transportOptions, type ProxyClientOptions } from '../client-options.js';
import { dialProxy } from '../../transport/proxy-socket.js';
import { DEFAULT_BODY_REPLAY_LIMIT } from '../../transport/replayable-body.js';
import { ProxyTimeoutError } from '../../transport/errors.js';
import { openTunnel } from '../../transport/tunnel.js';
import { routeKey } from '../route-key.js';
import { forwardAuthInterceptor } from './forward-auth.js';
import { tunnelErrorsInterceptor } from './tunnel-errors.js';
import { replaceHeader } from './headers.js';

/** undici's own default for headersTimeout and bodyTimeout (ms), which the pools keep unless told. */
const DEFAULT_RESPONSE_TIMEOUT = 300_000;

export interface ProxyDispatcherOptions extends ProxyClientOptions {
  /**
   * Time to wait for a response's headers, and between body chunks (ms); default 300 000 each
   * (undici's), long enough for an LLM API that thinks for minutes. Through a proxy, a forwarded
   * request that exceeds either fails with ProxyTimeoutError naming the proxy and the phase.
   */
  headersTimeout?: number;
  bodyTimeout?: number;
  /** Keep-alive idle time for pooled connections (ms). */
  keepAliveTimeout?: number;
  /** Maximum connections per origin (per proxy for forwarded http). Default: unlimited. */
  connections?: number;
}

/**
 * An undici Dispatcher that routes every request by the configuration layer's decision: bypassed
 * hosts through a direct pool, `https:` targets through CONNECT tunnels, `http:` targets forwarded to
 * the proxy in absolute form. Connections are kept alive in each; a new proxy connection gets a fresh
 * Negotiate token, so there is one GSSAPI step per connection, not per request. The environment is
 * read on every request (a compiled configuration is reused while the values stay the same).
 *
 * `Proxy-Authorization` belongs to this dispatcher: a caller's own is dropped on every route, so the
 * header reaches the proxy only, never an origin (directly, through a tunnel, or after a redirect).
 */
export class ProxyDispatcher extends Dispatcher {
  readonly #options: ProxyDispatcherOptions;
  readonly #configOptions: ProxyOptions | undefined;
  readonly #direct: Agent;
  readonly #viaProxy = new Map<string, Dispatcher>();
  #closed = false;

  constructor(options: ProxyDispatcherOptions = {}) {
    super();
    this.#options = options;
    this.#configOptions = routingOptions(options);
    this.#direct = new Agent({ ...this.#poolOptions(), connect: { ...originTls(options), timeout: transportOptions(options).timeout } });
  }

  #poolOptions(): Record<string, number> {
    const o: Record<string, number> = {};
    const { headersTimeout, bodyTimeout, keepAliveTimeout, connections } = this.#options;
    if (headersTimeout !== undefined) o.headersTimeout = headersTimeout;
    if (bodyTimeout !== undefined) o.bodyTimeout = bodyTimeout;
    if (keepAliveTimeout !== undefined) o.keepAliveTimeout = keepAliveTimeout;
    if (connections !== undefined) o.connections = connections;
    return o;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    let target: URL;
    let route: Route;
    try {
      if (this.#closed) throw new Error('ProxyDispatcher is closed');
      target = new URL(opts.path, opts.origin);
      const pac = pacSetting(this.#options.pac, this.#configOptions?.env);
      if (pac) {
        this.#dispatchByPac(opts, handler, target, pac);
        return true;
      }
      route = resolveConfig(this.#configOptions).route(target);
    } catch (error) {
      failLater(handler, error as Error);
      return true;
    }
    return this.#dispatchRoute(opts, handler, target, route);
  }

  /** With a PAC: its entries in order; a proxy that cannot be reached is marked bad and the next one tried. */
  #dispatchByPac(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, target: URL, pac: PacSetting): void {
    const router = pacRouterFor(pac.url);
    const attempt = (routes: readonly Route[]): void => {
      const [route, ...rest] = routes;
      if (!route) return;
      if (rest.length === 0 || route.type === 'direct') return void this.#dispatchRoute(opts, handler, target, route);
      const next = failoverHandler(handler, (error) => {
        if (!proxyUnreachable(error)) return false;
        router.markBad(route.proxy.origin);
        debug('%s %s: %s unreachable, next PAC entry', opts.method, target.origin, route.proxy.redacted);
        queueMicrotask(() => attempt(rest));
        return true;
      });
      this.#dispatchRoute(opts, next, target, route);
    };
    pacRoutes(target, resolveConfig(this.#configOptions), pac, router).then(
      ({ routes }) => attempt(routes),
      (error: Error) => failLater(handler, error),
    );
  }

  #dispatchRoute(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, target: URL, route: Route): boolean {
    // Whatever the caller set, Proxy-Authorization is ours: never pass a caller's on to anyone.
    const headers = replaceHeader(opts.headers, 'proxy-authorization');
    if (route.type === 'direct') {
      debug('%s %s: direct (%s)', opts.method, target.origin, route.rule);
      return this.#direct.dispatch({ ...opts, headers }, handler);
    }
    // A WebSocket (undici's WebSocket sends an http: Upgrade request for ws://) goes through a tunnel, as
    // browsers do: a forwarding proxy would have to pass the Upgrade on, and many do not.
    const tunnelled = target.protocol === 'https:' || target.protocol === 'wss:' || opts.upgrade != null;
    debug('%s %s: %s via %s (%s, auth %s)', opts.method, target.origin, tunnelled ? 'tunnel' : 'forward', route.proxy.redacted, route.rule, route.auth);
    const via = this.#dispatcherFor(route, tunnelled);
    if (tunnelled) return via.dispatch({ ...opts, headers }, handler);
    // Absolute form to the proxy; Host names the origin.
    const forwarded = replaceHeader(headers, 'host', target.host);
    return via.dispatch({ ...opts, origin: route.proxy.origin, path: target.href, headers: forwarded }, handler);
  }

  #dispatcherFor(route: ProxyRoute, tunnelled: boolean): Dispatcher {
    const { proxy } = route;
    // The credential enters the key only as an opaque per-process id (see route-key.ts).
    const key = `${tunnelled ? 'tunnel' : 'forward'} ${routeKey(route)}`;
    let via = this.#viaProxy.get(key);
    if (via) return via;
    const transport = transportOptions(this.#options);
    if (tunnelled) {
      const tls = buildConnector({ ...originTls(this.#options), timeout: transport.timeout });
      via = new Agent({
        ...this.#poolOptions(),
        connect: (opts, callback) => {
          const host = unbracket(opts.hostname);
          const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
          openTunnel(route, host, port, transport).then(
            (socket) => {
              if (opts.protocol !== 'https:') return callback(null, socket);
              // undici bounds the handshake by the connect timeout; a tunnel that carries nothing
              // back is the proxy's silence, so say so (certificate errors stay the origin's).
              tls({ ...opts, httpSocket: socket }, (error, tlsSocket) => {
                if (!error) return callback(null, tlsSocket as NonNullable<typeof tlsSocket>);
                if ((error as { code?: string }).code !== 'UND_ERR_CONNECT_TIMEOUT') return callback(error, null);
                socket.destroy();
                callback(new ProxyTimeoutError(proxy, `on the TLS handshake with ${host}:${port} through`, transport.timeout, 'tls', error), null);
              });
            },
            (error: Error) => callback(error, null),
          );
        },
      }).compose(tunnelErrorsInterceptor(route));
    } else {
      // The pool's connections only dial; authentication is per request, in each Client's interceptor.
      const forward = {
        ...transport,
        timeouts: { headers: this.#options.headersTimeout ?? DEFAULT_RESPONSE_TIMEOUT, body: this.#options.bodyTimeout ?? DEFAULT_RESPONSE_TIMEOUT },
        bodyReplayLimit: this.#options.bodyReplayLimit ?? DEFAULT_BODY_REPLAY_LIMIT,
      };
      via = new Pool(proxy.origin, {
        ...this.#poolOptions(),
        connect: (_opts, callback) => {
          dialProxy(proxy, transport).then(
            (socket) => callback(null, socket),
            (error: Error) => callback(error, null),
          );
        },
        factory: (origin, opts) => {
          const client = new Client(origin, opts);
          return client.compose(forwardAuthInterceptor(route, forward, client));
        },
      });
    }
    this.#viaProxy.set(key, via);
    return via;
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.#closed = true;
    const done = Promise.all([this.#direct.close(), ...[...this.#viaProxy.values()].map((d) => d.close())]).then(() => undefined);
    if (!callback) return done;
    void done.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    this.#closed = true;
    const error = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    const done = Promise.all([this.#direct.destroy(error), ...[...this.#viaProxy.values()].map((d) => d.destroy(error))]).then(() => undefined);
    if (!callback) return done;
    void done.then(callback, callback);
  }
}

/** Delivers a routing error (bad URL, malformed proxy setting) the way a connection error is delivered. */
function failLater(handler: Dispatcher.DispatchHandler, error: Error): void {
  queueMicrotask(() => {
    if (handler.onResponseError) {
      const controller: Dispatcher.DispatchController = {
        aborted: true,
        paused: false,
        reason: error,
        abort: () => undefined,
        pause: () => undefined,
        resume: () => undefined,
      };
      handler.onResponseError(controller, error);
    } else {
      handler.onError?.(error);
    }
  });
}
