import { Agent as HttpAgent, type AgentOptions, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { InvalidTargetUrlError } from '../../config/errors.js';
import { unbracket } from '../../config/host.js';
import type { ProxyOptions, ProxyRoute, Route } from '../../config/proxy-config.js';
import { debug } from '../../debug.js';
import { ForwardConnection } from '../../transport/forward-connection.js';
import { OriginFormConnection } from '../../transport/origin-form-connection.js';
import { ProxyTimeoutError } from '../../transport/errors.js';
import { openTunnel } from '../../transport/tunnel.js';
import { originTls, routingOptions, transportOptions, type ProxyClientOptions } from '../client-options.js';
import { failRequest, openPooled, PAC, poolName, PREPARED, ROUTE, TUNNEL, type CreateSocket, type PoolOptions, type SocketCallback } from './pool.js';
import type { PacSetting } from '../../pac/pac-route.js';
import { resolveRouting, type Routing } from '../routing.js';
import { connected, decideRoute, openByPac, pacProxyOf, type AgentDecision } from './routing.js';

export type ProxyAgentOptions = ProxyClientOptions &
  Omit<AgentOptions, 'timeout'> & {
    timeout?: number;
    /**
     * Through a proxy, the time (ms) from a forwarded request's last byte sent to its response's
     * headers; default 300 000, as for fetch. Exceeded: the request fails with ProxyTimeoutError
     * (phase `response`) naming the proxy.
     */
    headersTimeout?: number;
  };

/** The default bound on a forwarded request's answer: undici's headersTimeout, so every client agrees. */
const DEFAULT_HEADERS_TIMEOUT = 300_000;

/**
 * Bounds the wait for a forwarded request's answer: a silent proxy would otherwise hold the request
 * forever (node:http has no response timeout of its own). Counted from the request's last byte, so a
 * long upload is not cut; the error names the request by method and origin only.
 */
function boundAnswer(req: ClientRequest, routeOf: () => ProxyRoute | undefined, target: URL, ms: number): void {
  let timer: NodeJS.Timeout | undefined;
  const clear = (): void => clearTimeout(timer);
  req.once('finish', () => {
    // With a PAC the proxy is known only now, from the connection; a DIRECT one has no bound here.
    const route = routeOf();
    if (!route) return;
    timer = setTimeout(() => req.destroy(new ProxyTimeoutError(route.proxy, `waiting for the answer to ${req.method} ${target.origin} from`, ms, 'response')), ms);
    timer.unref?.();
  });
  req.once('response', clear);
  req.once('close', clear);
}

/**
 * The options Node's Agent keeps, public and enumerable, on `agent.options` (and merges into every
 * connection's options): only its own. The proxy's (URLs with passwords, `env` with every secret of the
 * environment, `proxyTls` with a client key) stay in the agent's private fields, so printing the agent,
 * or a got/axios error that holds it, shows none of them.
 */
function nodeAgentOptions<T extends ProxyAgentOptions>(options: T): AgentOptions {
  const {
    proxy: _proxy, proxySource: _proxySource, httpProxy: _httpProxy, httpsProxy: _httpsProxy, noProxy: _noProxy, exactNoProxy: _exactNoProxy,
    kerberos: _kerberos, spn: _spn, platform: _platform, env: _env, pac: _pac, connectTimeout: _connectTimeout, proxyTls: _proxyTls, proxyCa: _proxyCa,
    bodyReplayLimit: _bodyReplayLimit, requireMutualAuth: _requireMutualAuth, principal: _principal, tokenTimeout: _tokenTimeout, headersTimeout: _headersTimeout,
    ...agent
  } = options;
  return agent;
}

type ConnectOptions = PoolOptions & { host?: string | null; hostname?: string | null; port?: number | string | null; servername?: string };

/** Node's Agent methods that @types/node does not declare (addRequest, createSocket) or types loosely. */
interface BaseAgent {
  addRequest(req: ClientRequest, options: object): void;
  createSocket: CreateSocket;
  createConnection(options: object, cb: SocketCallback): Duplex | undefined;
}

const httpBase = HttpAgent.prototype as unknown as BaseAgent;
const httpsBase = HttpsAgent.prototype as unknown as BaseAgent;

function targetUrl(scheme: 'http:' | 'https:', o: ConnectOptions, path = '/'): URL {
  const host = unbracket(o.hostname ?? o.host ?? 'localhost');
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const href = `${scheme}//${hostPart}${o.port ? `:${o.port}` : ''}${path.startsWith('/') ? path : '/'}`;
  try {
    return new URL(href);
  } catch {
    throw new InvalidTargetUrlError(`${scheme}//${hostPart}${o.port ? `:${o.port}` : ''}/`);
  }
}

/**
 * Routes a request, or fails it the way Node fails a request (an `'error'` event): the configuration
 * is read on every request, so a malformed variable set at run time must not throw out of `http.get()`.
 */
function routeOrFail(req: ClientRequest, decide: () => { target: URL; decision: AgentDecision }): { target: URL; decision: AgentDecision } | undefined {
  try {
    return decide();
  } catch (error) {
    failRequest(req, error instanceof Error ? error : new Error(String(error)));
    return undefined;
  }
}

/**
 * Node's `createConnection` for a routing agent: the socket our `createSocket` prepared, else (called
 * directly) the route decided here: the base agent's direct connection, or `open` for a proxy one.
 * Errors go to the callback, never thrown.
 */
function connectRouted(
  agent: HttpAgent,
  base: BaseAgent,
  scheme: 'http:' | 'https:',
  options: ConnectOptions,
  callback: SocketCallback,
  decide: (target: URL) => AgentDecision,
  open: (route: ProxyRoute, target: URL) => Promise<Duplex>,
  openPac: (setting: PacSetting, target: URL) => Promise<Duplex>,
): Duplex | undefined {
  const prepared = options[PREPARED];
  if (prepared) return prepared;
  let target: URL;
  let decision: AgentDecision;
  try {
    target = targetUrl(scheme, options);
    const known = options[ROUTE];
    const pac = options[PAC];
    decision = known ? { route: known } : pac ? { pac } : decide(target);
  } catch (error) {
    callback(error as Error);
    return undefined;
  }
  if (decision.pac) {
    openPac(decision.pac, target).then((socket) => callback(null, socket), (error: Error) => callback(error));
    return undefined;
  }
  const { route } = decision;
  if (route.type === 'direct') {
    debug('node:%s %s: direct (%s)', scheme.slice(0, -1), target.origin, route.rule);
    return base.createConnection.call(agent, options, callback);
  }
  open(route, target).then((socket) => callback(null, socket), (error: Error) => callback(error));
  return undefined;
}

/**
 * `node:http` agent for `http:` URLs (the seed's urllib opener, for Node). Bypassed hosts are reached
 * directly; the rest are sent to the proxy in absolute form, on kept-alive proxy connections that each
 * got a fresh Negotiate token on their first request, with 407s answered as the core does. Pooled
 * connections are keyed by route as well as by target, and `maxSockets` holds while they are opened.
 */
export class ProxyHttpAgent extends HttpAgent {
  readonly #options: ProxyAgentOptions;
  readonly #routing: ProxyOptions | undefined;

  constructor(options: ProxyAgentOptions = {}) {
    super({ keepAlive: true, ...nodeAgentOptions(options) });
    this.#options = options;
    this.#routing = routingOptions(options);
  }

  /** The configuration and PAC setting as the environment is now (compiled again only when it changed). */
  #routingNow(): Routing {
    return resolveRouting(this, this.#routing, this.#options.pac);
  }

  #decide(url: URL): AgentDecision {
    return decideRoute(url, this.#routingNow());
  }

  // Agent#addRequest is public API in practice (agent-base, http-proxy-agent) but not in @types/node.
  addRequest(req: ClientRequest, options: ConnectOptions): void {
    // Proxy-Authorization is ours alone: a caller's never travels, ours goes to the proxy only.
    req.removeHeader('proxy-authorization');
    const routed = routeOrFail(req, () => {
      const target = targetUrl('http:', options, req.path);
      return { target, decision: this.#decide(target) };
    });
    if (!routed) return;
    const { target, decision } = routed;
    const upgrade = req.getHeader('upgrade') !== undefined;
    const answerMs = this.#options.headersTimeout ?? DEFAULT_HEADERS_TIMEOUT;
    if (decision.pac) {
      // The head is rendered before the PAC answers, so in the form a proxy takes; a connection the
      // PAC sends DIRECT rewrites it to origin form (OriginFormConnection). An Upgrade stays in origin
      // form: through a proxy it goes in a tunnel.
      if (!upgrade) {
        req.path = target.href;
        boundAnswer(req, () => pacProxyOf(req.socket), target, answerMs);
      }
      httpBase.addRequest.call(this, req, { ...options, [PAC]: decision.pac, ...(upgrade && { [TUNNEL]: true }) });
      return;
    }
    const { route } = decision;
    if (route.type === 'proxy' && upgrade) {
      // A WebSocket (ws://) goes through a CONNECT tunnel, as browsers do: forwarding proxies rarely
      // pass an Upgrade on. Authenticated on the CONNECT; the request stays in origin form.
      httpBase.addRequest.call(this, req, { ...options, [ROUTE]: route, [TUNNEL]: true });
      return;
    }
    if (route.type === 'proxy') {
      // Absolute form; the connection (ForwardConnection) adds Proxy-Authorization and answers 407s.
      req.path = target.href;
      boundAnswer(req, () => route, target, answerMs);
    }
    httpBase.addRequest.call(this, req, { ...options, [ROUTE]: route });
  }

  override getName(options?: ConnectOptions): string {
    return poolName(super.getName(options), options);
  }

  // Node's Agent#createSocket (not in @types/node): proxy connections are opened here, counted while they are.
  createSocket(req: ClientRequest, options: ConnectOptions, cb: SocketCallback): void {
    const route = options[ROUTE];
    const pac = options[PAC];
    if (pac) return openPooled(this, httpBase.createSocket, req, options, cb, (signal) => this.#openPac(pac, targetUrl('http:', options), options, signal));
    if (route?.type !== 'proxy') return httpBase.createSocket.call(this, req, options, cb);
    const target = targetUrl('http:', options);
    const open = options[TUNNEL] ? (signal: AbortSignal) => this.#openTunnel(route, target, signal) : () => this.#open(route, target);
    openPooled(this, httpBase.createSocket, req, options, cb, open);
  }

  override createConnection(options: ConnectOptions, callback: SocketCallback): Duplex | undefined {
    return connectRouted(
      this, httpBase, 'http:', options, callback,
      (t) => this.#decide(t),
      (route, target) => this.#open(route, target),
      (setting, target) => this.#openPac(setting, target, options),
    );
  }

  /** By the PAC's answer: a proxy's connection as without a PAC, or a direct one that takes the proxy's form. */
  #openPac(setting: PacSetting, target: URL, options: ConnectOptions, signal?: AbortSignal): Promise<Duplex> {
    const tunnel = options[TUNNEL] === true;
    return openByPac(target, setting, this.#routingNow().config, async (route) => {
      if (route.type === 'direct') {
        debug('node:http %s: direct (%s)', target.origin, route.rule);
        const socket = await connected(httpBase.createConnection.call(this, options, () => undefined) as Socket);
        return tunnel ? socket : new OriginFormConnection(socket);
      }
      return tunnel ? this.#openTunnel(route, target, signal) : this.#open(route, target);
    });
  }

  #openTunnel(route: ProxyRoute, target: URL, signal?: AbortSignal): Promise<Duplex> {
    const options = { ...transportOptions(this.#options), ...(signal && { signal }) };
    return openTunnel(route, unbracket(target.hostname), Number(target.port) || 80, options).then((socket) => {
      // The tunnel's reader paused the socket, and node:http only listens for 'data' (which does
      // not resume a paused stream). Nothing is lost: over http the origin does not speak first.
      socket.resume();
      return socket;
    });
  }

  #open(route: ProxyRoute, target: URL): Promise<Duplex> {
    debug('node:http %s: forward via %s', target.origin, route.proxy.redacted);
    const { bodyReplayLimit } = this.#options;
    return ForwardConnection.open(route, { ...transportOptions(this.#options), ...(bodyReplayLimit !== undefined && { bodyReplayLimit }) });
  }
}

/**
 * TLS options for the origin handshake inside a tunnel. Node checks the certificate against
 * `servername || host || socket._host || 'localhost'`; with `host` left out (as https-proxy-agent does)
 * an IP-literal target would be checked against the proxy's name or `localhost`. So the identity is
 * the one a direct request would check: the servername Node derived from the Host header, if any, else
 * the target as written, IP literals included. SNI is sent for names only (RFC 6066 §3).
 */
function tunnelTls(options: ConnectOptions, target: string): ConnectionOptions {
  const { host: _host, port: _port, path: _path, servername, [ROUTE]: _route, [PREPARED]: _prepared, [TUNNEL]: _tunnel, ...tls } = options as ConnectOptions & { path?: unknown };
  const identity = servername ? servername : target;
  return { ...(tls as ConnectionOptions), host: identity, ...(isIP(identity) === 0 && { servername: identity }) };
}

/**
 * `node:https` agent: bypassed hosts directly, the rest through a CONNECT tunnel (Negotiate on the
 * CONNECT, 407s answered on it) and then TLS with the origin, certificate checked against the target
 * as the request named it. Pooled like the http agent: by route and target, limits kept while opening.
 */
export class ProxyHttpsAgent extends HttpsAgent {
  readonly #options: ProxyClientOptions;
  readonly #routing: ProxyOptions | undefined;

  constructor(options: ProxyAgentOptions & HttpsAgentOptions = {}) {
    super({ keepAlive: true, ...originTls(options), ...nodeAgentOptions(options) });
    this.#options = options;
    this.#routing = routingOptions(options);
  }

  /** The configuration and PAC setting as the environment is now (compiled again only when it changed). */
  #routingNow(): Routing {
    return resolveRouting(this, this.#routing, this.#options.pac);
  }

  #decide(url: URL): AgentDecision {
    return decideRoute(url, this.#routingNow());
  }

  addRequest(req: ClientRequest, options: ConnectOptions): void {
    req.removeHeader('proxy-authorization'); // it would travel inside the tunnel, to the origin
    const routed = routeOrFail(req, () => {
      const target = targetUrl('https:', options);
      return { target, decision: this.#decide(target) };
    });
    if (!routed) return;
    const { decision } = routed;
    httpsBase.addRequest.call(this, req, decision.pac ? { ...options, [PAC]: decision.pac } : { ...options, [ROUTE]: decision.route });
  }

  override getName(options?: ConnectOptions): string {
    return poolName(super.getName(options), options);
  }

  createSocket(req: ClientRequest, options: ConnectOptions, cb: SocketCallback): void {
    const route = options[ROUTE];
    const pac = options[PAC];
    if (pac) return openPooled(this, httpsBase.createSocket, req, options, cb, (signal) => this.#openPac(pac, targetUrl('https:', options), options, signal));
    if (route?.type !== 'proxy') return httpsBase.createSocket.call(this, req, options, cb);
    openPooled(this, httpsBase.createSocket, req, options, cb, (signal) => this.#open(route, targetUrl('https:', options), options, signal));
  }

  override createConnection(options: ConnectOptions, callback: SocketCallback): Duplex | undefined {
    return connectRouted(
      this, httpsBase, 'https:', options, callback,
      (t) => this.#decide(t),
      (route, target) => this.#open(route, target, options),
      (setting, target) => this.#openPac(setting, target, options),
    );
  }

  /** By the PAC's answer: a tunnel as without a PAC, or TLS straight to the origin. */
  #openPac(setting: PacSetting, target: URL, options: ConnectOptions, signal?: AbortSignal): Promise<Duplex> {
    return openByPac(target, setting, this.#routingNow().config, async (route) => {
      if (route.type === 'proxy') return this.#open(route, target, options, signal);
      debug('node:https %s: direct (%s)', target.origin, route.rule);
      return connected(httpsBase.createConnection.call(this, options, () => undefined) as Socket);
    });
  }

  // tls.connect runs inside the promise, so a TLS option it throws on rejects it instead of escaping.
  async #open(route: ProxyRoute, target: URL, options: ConnectOptions, signal?: AbortSignal): Promise<Duplex> {
    const host = unbracket(target.hostname);
    const port = Number(target.port) || 443;
    const { timeout } = transportOptions(this.#options);
    const raw = await openTunnel(route, host, port, { ...transportOptions(this.#options), ...(signal && { signal }) });
    try {
      const socket = tlsConnect({ ...tunnelTls(options, host), socket: raw });
      // A tunnel that carries nothing back would hold the handshake forever: bound it as fetch does.
      const timer = setTimeout(() => socket.destroy(new ProxyTimeoutError(route.proxy, `on the TLS handshake with ${host}:${port} through`, timeout, 'tls')), timeout);
      const clear = (): void => clearTimeout(timer);
      socket.once('secureConnect', clear);
      socket.once('close', clear);
      return socket;
    } catch (error) {
      raw.destroy();
      throw error;
    }
  }
}

export interface ProxyAgents {
  http: ProxyHttpAgent;
  https: ProxyHttpsAgent;
}

/** `{ http, https }` agents sharing the same options (the pair got and axios want). */
export function createAgents(options: ProxyAgentOptions = {}): ProxyAgents {
  return { http: new ProxyHttpAgent(options), https: new ProxyHttpsAgent(options) };
}

let shared: ProxyAgents | undefined;
const byOptions = new WeakMap<ProxyAgentOptions, ProxyAgents>();

/** The process-wide agents that follow the environment (created on first use). */
export function getDefaultAgents(): ProxyAgents {
  shared ??= createAgents();
  return shared;
}

/**
 * The agents for these options, created once per options object (the default ones without options),
 * so per-request helpers reuse kept-alive connections instead of leaking agents.
 */
export function agentsFor(options?: ProxyAgentOptions): ProxyAgents {
  if (!options) return getDefaultAgents();
  let agents = byOptions.get(options);
  if (!agents) {
    agents = createAgents(options);
    byOptions.set(options, agents);
  }
  return agents;
}

/** The right agent for a URL: `https:`/`wss:` → the https agent, else the http agent. */
export function getAgent(url: string | URL, agents: ProxyAgents = getDefaultAgents()): ProxyHttpAgent | ProxyHttpsAgent {
  const protocol = typeof url === 'string' ? new URL(url).protocol : url.protocol;
  return protocol === 'https:' || protocol === 'wss:' ? agents.https : agents.http;
}
