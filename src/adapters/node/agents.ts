import { Agent as HttpAgent, type AgentOptions, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { unbracket } from '../../config/host.js';
import type { ProxyOptions, ProxyRoute, Route } from '../../config/proxy-config.js';
import { debug } from '../../debug.js';
import { pacRouterFor, pacRoutes } from '../../pac/pac-route.js';
import type { PacRouter } from '../../pac/pac-router.js';
import { redactUrl } from '../../redact.js';
import { DEFAULT_RESPONSE_TIMEOUT } from '../../transport/defaults.js';
import { ProxyTimeoutError } from '../../transport/errors.js';
import { originTls, routingOptions, type ProxyClientOptions } from '../../transport/options.js';
import { routeKey } from '../../routing/route-key.js';
import { resolveRouting, type Routing } from '../../routing/routing.js';
import { addRequest } from './add-request.js';
import { HttpRouteAgent, type HttpMode } from './http-route-agent.js';
import { HttpsRouteAgent } from './https-route-agent.js';
import { PendingConnection } from './pending-connection.js';
import { refuse } from './refusing-agent.js';
import { RouteAgents } from './route-agents.js';
import { originOf, type ConnectOptions } from './route-target.js';
import { decideRoute, type AgentDecision } from './routing.js';

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


/** The key of a list of routes: a pool per list (one route without a PAC). */
function keyOf(routes: readonly Route[], prefix = ''): string {
  return `${prefix}${routes.map(routeKey).join(', ')}`;
}

/** Whether `addressed` (a name or an address) is `name` or one of its addresses. */
async function sameHost(addressed: string, name: string): Promise<boolean> {
  if (addressed.toLowerCase() === name.toLowerCase()) return true;
  if (isIP(addressed) === 0) return false;
  const addresses = await lookup(name, { all: true });
  return addresses.some((a) => a.address === addressed);
}

/** The proxy a request's connection went through (a PAC chose it once the connection opened), if any. */
function proxyOf(req: ClientRequest): ProxyRoute | undefined {
  const socket = req.socket;
  const route = socket instanceof PendingConnection ? (socket.detail as Route | undefined) : undefined;
  return route?.type === 'proxy' ? route : undefined;
}

/**
 * `node:http` agent for `http:` URLs (the seed's urllib opener, for Node): a router in front of one
 * agent per route. It decides each request's route as it arrives (`addRequest`, the one seam it takes
 * of Node's Agent, as proxy-agent does), and hands the request unchanged to that route's agent: the
 * direct one (a plain `http.Agent`, origin form), or an HttpRouteAgent that forwards it to the proxy
 * (absolute form and `Proxy-Authorization` put on the wire by its connection, 407s answered there) or,
 * for an Upgrade (ws://), tunnels it. With a PAC the route is known once the PAC answers; the request
 * waits for that, as it would for a socket. The head is never changed after Node rendered it, so a
 * request whose head Node renders at once (`Expect`, array headers, `flushHeaders()`) goes as any other.
 */
export class ProxyHttpAgent extends HttpAgent {
  readonly #options: ProxyAgentOptions;
  readonly #agentOptions: AgentOptions;
  readonly #routing: ProxyOptions | undefined;
  readonly #routes = new RouteAgents<HttpAgent>();
  readonly #direct: HttpAgent;

  constructor(options: ProxyAgentOptions = {}) {
    const agentOptions = { keepAlive: true, ...nodeAgentOptions(options) };
    super(agentOptions);
    this.#options = options;
    this.#agentOptions = agentOptions;
    this.#routing = routingOptions(options);
    this.#direct = new HttpAgent(agentOptions);
  }

  /** The configuration and PAC setting as the environment is now (compiled again only when it changed). */
  #routingNow(): Routing {
    return resolveRouting(this, this.#routing, this.#options.pac);
  }

  // Agent#addRequest is public API in practice (agent-base, proxy-agent) but not in @types/node.
  addRequest(req: ClientRequest, options: ConnectOptions): void {
    if (req.method === 'CONNECT') return this.#connect(req, options);
    let target: URL;
    let decision: AgentDecision;
    try {
      target = originOf('http:', options, req.path);
      decision = decideRoute(target, this.#routingNow());
    } catch (error) {
      refuse(req, options, error);
      return;
    }
    // Proxy-Authorization is ours alone: a caller's is taken out while the head is still open; on a
    // forwarded request the connection takes it out on the wire whenever the head was rendered.
    if (!req.headersSent) req.removeHeader('proxy-authorization');
    const mode: HttpMode = req.getHeader('upgrade') !== undefined ? 'tunnel' : 'forward';
    const answerMs = this.#options.headersTimeout ?? DEFAULT_RESPONSE_TIMEOUT;
    if (decision.pac) {
      const { pac } = decision;
      const config = this.#routingNow().config;
      const router = pacRouterFor(pac.url);
      if (mode === 'forward') boundAnswer(req, () => proxyOf(req), target, answerMs);
      pacRoutes(target, config, pac, router).then(
        ({ routes }) => addRequest(this.#routeAgent(routes, router, mode), req, options),
        (error: unknown) => refuse(req, options, error),
      );
      return;
    }
    const { route } = decision;
    if (route.type === 'direct') {
      debug('node:http %s: direct (%s)', target.origin, route.rule);
      addRequest(this.#direct, req, options);
      return;
    }
    if (mode === 'forward') boundAnswer(req, () => route, target, answerMs);
    addRequest(this.#routeAgent([route], undefined, mode), req, options);
  }

  /**
   * A CONNECT is addressed to a proxy by a client that tunnels itself (grpc-js reads HTTPS_PROXY and
   * sends its own CONNECT with http.request): it goes where it is addressed, never through another
   * proxy. When that is the proxy the configuration names for the tunnel's authority, it goes on that
   * route's forwarding connection, which adds Proxy-Authorization (Negotiate) and answers 407s, then
   * passes the tunnel through; the client never meets the 407 it cannot answer.
   */
  #connect(req: ClientRequest, options: ConnectOptions): void {
    let route: ProxyRoute | undefined;
    let addressed: URL | undefined;
    try {
      addressed = originOf('http:', options);
      const chosen = this.#routingNow().config.route(new URL(`https://${req.path}`));
      if (chosen.type === 'proxy' && chosen.proxy.protocol === 'http:' && Number(chosen.proxy.port) === (Number(addressed.port) || 80)) route = chosen;
    } catch {
      // not an authority we can route by: sent as addressed
    }
    const direct = (): void => addRequest(this.#direct, req, options);
    if (route === undefined || addressed === undefined) return direct();
    const proxy = route;
    // The client may have resolved the proxy's name itself (grpc-js does): same port, and its address one of the name's.
    sameHost(unbracket(addressed.hostname), proxy.proxy.hostname).then((same) => {
      if (!same) return direct();
      debug('node:http CONNECT %s of the client\'s own: authenticated to %s', req.path, proxy.proxy.redacted);
      addRequest(this.#routeAgent([proxy], undefined, 'forward'), req, options);
    }, direct);
  }

  #routeAgent(routes: readonly Route[], router: PacRouter | undefined, mode: HttpMode): HttpAgent {
    const key = keyOf(routes, `${mode} ${router ? `pac ${redactUrl(router.url)} ` : ''}`);
    return this.#routes.get(key, () => new HttpRouteAgent(routes, router, mode, this.#options, this.#agentOptions));
  }

  /** Closes the connections of every route (and the agent's own, which holds none). */
  override destroy(): void {
    this.#direct.destroy();
    this.#routes.destroy();
    super.destroy();
  }
}

/**
 * `node:https` agent: a router as the http one. Bypassed hosts go to a plain `https.Agent`; the rest
 * to an HttpsRouteAgent per route: a CONNECT tunnel (Negotiate on the CONNECT, 407s answered on it)
 * and then TLS with the origin, certificate checked against the target as the request named it.
 */
export class ProxyHttpsAgent extends HttpsAgent {
  readonly #options: ProxyClientOptions;
  readonly #agentOptions: HttpsAgentOptions;
  readonly #routing: ProxyOptions | undefined;
  readonly #routes = new RouteAgents<HttpsAgent>();
  readonly #direct: HttpsAgent;

  constructor(options: ProxyAgentOptions & HttpsAgentOptions = {}) {
    const agentOptions = { keepAlive: true, ...originTls(options), ...nodeAgentOptions(options) };
    super(agentOptions);
    this.#options = options;
    this.#agentOptions = agentOptions;
    this.#routing = routingOptions(options);
    this.#direct = new HttpsAgent(agentOptions);
  }

  /** The configuration and PAC setting as the environment is now (compiled again only when it changed). */
  #routingNow(): Routing {
    return resolveRouting(this, this.#routing, this.#options.pac);
  }

  addRequest(req: ClientRequest, options: ConnectOptions): void {
    let target: URL;
    let decision: AgentDecision;
    try {
      target = originOf('https:', options);
      decision = decideRoute(target, this.#routingNow());
    } catch (error) {
      refuse(req, options, error);
      return;
    }
    if (!req.headersSent) req.removeHeader('proxy-authorization'); // it would travel inside the tunnel, to the origin
    if (decision.pac) {
      const { pac } = decision;
      const config = this.#routingNow().config;
      const router = pacRouterFor(pac.url);
      pacRoutes(target, config, pac, router).then(
        ({ routes }) => addRequest(this.#routeAgent(routes, router), req, options),
        (error: unknown) => refuse(req, options, error),
      );
      return;
    }
    const { route } = decision;
    if (route.type === 'direct') {
      debug('node:https %s: direct (%s)', target.origin, route.rule);
      addRequest(this.#direct, req, options);
      return;
    }
    addRequest(this.#routeAgent([route], undefined), req, options);
  }

  #routeAgent(routes: readonly Route[], router: PacRouter | undefined): HttpsAgent {
    const key = keyOf(routes, router ? `pac ${redactUrl(router.url)} ` : '');
    return this.#routes.get(key, () => new HttpsRouteAgent(routes, router, this.#options, this.#agentOptions));
  }

  /** Closes the connections of every route. */
  override destroy(): void {
    this.#direct.destroy();
    this.#routes.destroy();
    super.destroy();
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
