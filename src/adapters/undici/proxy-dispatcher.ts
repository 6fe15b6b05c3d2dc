import { setMaxListeners } from 'node:events';
import { debuglog } from 'node:util';
import { Agent, buildConnector, Client, Dispatcher, Pool } from 'undici';
import { unbracket } from '../../config/host.js';
import type { ProxyConfig, ProxyOptions, ProxyRoute, Route } from '../../config/proxy-config.js';
import { pacRouterFor, pacRoutes, type PacSetting } from '../../pac/pac-route.js';
import { proxyUnreachable } from '../../pac/unreachable.js';
import { failoverHandler } from './pac-failover.js';
import { debug, debugChannel } from '../../debug.js';
import { originTls, routingOptions, transportOptions, type ProxyClientOptions } from '../../transport/options.js';
import { HeadBound } from '../../transport/head-bound.js';
import { dialProxy } from '../../transport/proxy-socket.js';
import { DEFAULT_BODY_REPLAY_LIMIT } from '../../transport/replayable-body.js';
import { DEFAULT_RESPONSE_TIMEOUT } from '../../transport/defaults.js';
import { ProxyTimeoutError } from '../../transport/errors.js';
import { openTunnel } from '../../transport/tunnel.js';
import { routeKey } from '../../routing/route-key.js';
import { forwardAuthInterceptor } from './forward-auth.js';
import { ForwardClient } from './forward-client.js';
import { tunnelErrorsHandler } from './tunnel-errors.js';
import { retryInterceptor } from './retry-handler.js';
import { replaceHeader, withoutHeader } from './headers.js';
import { resolveRouting } from '../../routing/routing.js';

/**
 * Whether a debug line would go anywhere: NODE_DEBUG (debug()'s section, fixed at startup, so asked
 * once) or a channel subscriber (asked each time). Checked before building a line's arguments.
 */
let logging: boolean | undefined;
const debugging = (): boolean => (logging ??= debuglog('jaato-proxy').enabled) || debugChannel.hasSubscribers;

/** What a request's route depends on, from its `origin` (see `#target`). */
interface OriginTarget {
  /** `scheme://authority/`: one string per origin, so the route lookups find it by identity. */
  key: string;
  protocol: string;
}

const ORIGINS_LIMIT = 256;

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
  /**
   * Send again what is safe to send again (docs/errors.md); default true. False for a client whose own
   * policy retries the same failures (Azure's pipeline), so attempts do not multiply.
   */
  retries?: boolean;
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
  /** Per route object (a configuration's routes are immutable and reused): the pool, without building its key. */
  readonly #tunnelsByRoute = new WeakMap<ProxyRoute, Dispatcher>();
  readonly #forwardsByRoute = new WeakMap<ProxyRoute, Dispatcher>();
  readonly #origins = new Map<string, OriginTarget>();
  /** Each pool through a proxy, composed with the retry interceptor (an upgrade uses the pool itself). */
  readonly #retrying = new WeakMap<Dispatcher, Dispatcher>();
  /** Requests through a proxy the caller still waits for; close() waits for them, and for nothing else. */
  readonly #live = { count: 0, onIdle: undefined as (() => void) | undefined };
  /** Ends the tunnel setups (a Kerberos token wait included) once no request waits for them: close(), destroy(). */
  readonly #shutdown = new AbortController();
  #closed = false;

  constructor(options: ProxyDispatcherOptions = {}) {
    super();
    this.#options = options;
    this.#configOptions = routingOptions(options);
    // Every tunnel being set up listens on it: as many at once as there are new connections.
    setMaxListeners(0, this.#shutdown.signal);
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
    let target: URL | OriginTarget;
    let route: Route;
    try {
      if (this.#closed) throw new Error('ProxyDispatcher is closed');
      target = this.#target(opts);
      const { config, pac } = resolveRouting(this, this.#configOptions, this.#options.pac);
      if (pac) {
        this.#dispatchByPac(opts, handler, target instanceof URL ? target : new URL(opts.path, opts.origin), config, pac);
        return true;
      }
      route = config.route(target instanceof URL ? target : target.key);
    } catch (error) {
      failLater(handler, error as Error);
      return true;
    }
    return this.#dispatchRoute(opts, handler, target, route);
  }

  /**
   * The request's target, `new URL(opts.path, opts.origin)`; for the usual request (an origin string,
   * a path that the parser can only append) only what the route depends on, parsed once per origin.
   * A path starting `//` or `/\` (tabs and newlines are dropped first) would replace the host, so it
   * takes the full parse, as does anything else.
   */
  #target(opts: Dispatcher.DispatchOptions): URL | OriginTarget {
    const { origin, path } = opts;
    if (typeof origin !== 'string' || !appendsPath(path)) return new URL(path, origin);
    const known = this.#origins.get(origin);
    if (known) return known;
    const url = new URL(path, origin);
    // Only special schemes: a relative path on another base can fail, or keep the base's path.
    if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'ws:' && url.protocol !== 'wss:') return url;
    if (this.#origins.size >= ORIGINS_LIMIT) this.#origins.clear();
    const target = { key: `${url.protocol}//${url.host}/`, protocol: url.protocol };
    this.#origins.set(origin, target);
    return target;
  }

  /** With a PAC: its entries in order; a proxy that cannot be reached is marked bad and the next one tried. */
  #dispatchByPac(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, target: URL, config: ProxyConfig, pac: PacSetting): void {
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
      // Not retried here: an unreachable entry gives way to the next one at once; the last one retries.
      this.#dispatchRoute(opts, next, target, route, false);
    };
    pacRoutes(target, config, pac, router).then(
      ({ routes }) => attempt(routes),
      (error: Error) => failLater(handler, error),
    );
  }

  #dispatchRoute(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, target: URL | OriginTarget, route: Route, retry = true): boolean {
    // Whatever the caller set, Proxy-Authorization is ours: never pass a caller's on to anyone.
    const headers = withoutHeader(opts.headers, 'proxy-authorization');
    const clean = headers === opts.headers ? opts : { ...opts, headers };
    if (route.type === 'direct') {
      if (debugging()) debug('%s %s: direct (%s)', opts.method, fullTarget(opts, target).origin, route.rule);
      return this.#direct.dispatch(clean, handler);
    }
    // A WebSocket (undici's WebSocket sends an http: Upgrade request for ws://) goes through a tunnel, as
    // browsers do: a forwarding proxy would have to pass the Upgrade on, and many do not.
    const tunnelled = target.protocol === 'https:' || target.protocol === 'wss:' || opts.upgrade != null;
    if (debugging()) {
      debug('%s %s: %s via %s (%s, auth %s)', opts.method, fullTarget(opts, target).origin, tunnelled ? 'tunnel' : 'forward', route.proxy.redacted, route.rule, route.auth);
    }
    const pool = this.#dispatcherFor(route, tunnelled);
    // A request that failed before its answer began, on a connection refused or broken, may go again (retry-decision.ts).
    const via = !retry || this.#options.retries === false || opts.upgrade != null ? pool : (this.#retrying.get(pool) ?? pool);
    if (tunnelled) return via.dispatch(clean, tunnelErrorsHandler(route, clean, handler));
    // Absolute form to the proxy; Host names the origin.
    const url = fullTarget(opts, target);
    const forwarded = replaceHeader(headers, 'host', url.host);
    return via.dispatch({ ...opts, origin: route.proxy.origin, path: url.href, headers: forwarded }, handler);
  }

  #dispatcherFor(route: ProxyRoute, tunnelled: boolean): Dispatcher {
    const byRoute = tunnelled ? this.#tunnelsByRoute : this.#forwardsByRoute;
    const known = byRoute.get(route);
    if (known) return known;
    const via = this.#newDispatcherFor(route, tunnelled);
    byRoute.set(route, via);
    return via;
  }

  /** The pool for a route's key, shared by every route (of any configuration) with the same key. */
  #newDispatcherFor(route: ProxyRoute, tunnelled: boolean): Dispatcher {
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
          // One deadline for dial, token and CONNECT answer (the bound held under load), and close()'s signal.
          openTunnel(route, host, port, { ...transport, signal: this.#shutdown.signal, deadline: performance.now() + transport.timeout }).then(
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
      });
    } else {
      // The pool's connections only dial; authentication is per request, in each Client's interceptor.
      const forward = {
        ...transport,
        timeouts: { headers: this.#options.headersTimeout ?? DEFAULT_RESPONSE_TIMEOUT, body: this.#options.bodyTimeout ?? DEFAULT_RESPONSE_TIMEOUT },
        bodyReplayLimit: this.#options.bodyReplayLimit ?? DEFAULT_BODY_REPLAY_LIMIT,
      };
      via = new Pool(proxy.origin, {
        ...this.#poolOptions(),
        // Each Client dials for itself, so that its answers are held to HEAD_LIMITS (head-bound.ts).
        factory: (origin, opts) => {
          const heads = new HeadBound();
          const client = new Client(origin, {
            ...opts,
            connect: (_opts, callback) => {
              dialProxy(proxy, transport).then(
                (socket) => {
                  heads.watch(socket);
                  callback(null, socket);
                },
                (error: Error) => callback(error, null),
              );
            },
          });
          return new ForwardClient(client, proxy.origin, (owner) => forwardAuthInterceptor(route, forward, owner, heads));
        },
      });
    }
    this.#viaProxy.set(key, via);
    const live = this.#live;
    const counter = {
      start: () => void live.count++,
      settled: () => {
        if (--live.count > 0 || !live.onIdle) return;
        const idle = live.onIdle;
        live.onIdle = undefined;
        idle();
      },
    };
    const limit = this.#options.bodyReplayLimit ?? DEFAULT_BODY_REPLAY_LIMIT;
    this.#retrying.set(via, via.compose(retryInterceptor({ proxy, bodyReplayLimit: limit }, counter)));
    return via;
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.#closed = true;
    const done = Promise.all([this.#direct.close(), ...[...this.#viaProxy.values()].map((d) => d.close())]).then(() => undefined);
    // Graceful for the requests still wanted; a tunnel setup nobody waits for (its request aborted while
    // its token hung) is ended once they are over, instead of holding close() for the token's bound.
    const stop = (): void => this.#shutdown.abort(new Error('ProxyDispatcher closed'));
    if (this.#live.count === 0) stop();
    else this.#live.onIdle = stop;
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
    this.#shutdown.abort(error ?? new Error('ProxyDispatcher destroyed'));
    const done = Promise.all([this.#direct.destroy(error), ...[...this.#viaProxy.values()].map((d) => d.destroy(error))]).then(() => undefined);
    if (!callback) return done;
    void done.then(callback, callback);
  }
}

/** The whole target URL, parsed when needed (forwarding, debug lines) if the route did not need it. */
function fullTarget(opts: Dispatcher.DispatchOptions, target: URL | OriginTarget): URL {
  return target instanceof URL ? target : new URL(opts.path, opts.origin);
}

/**
 * Whether `new URL(path, base)` can only set the path (and query) of a special-scheme base: a path
 * starting `/` whose next character (the parser drops tabs and newlines first) is not `/` or `\`.
 */
function appendsPath(path: string): boolean {
  if (path.charCodeAt(0) !== 47 /* / */) return false;
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 9 || c === 10 || c === 13) continue;
    return c !== 47 && c !== 92 /* \ */;
  }
  return true;
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
