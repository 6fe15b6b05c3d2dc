import { Agent as HttpAgent, type AgentOptions, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { unbracket } from '../../config/host.js';
import { resolveConfig, type ProxyOptions, type Route } from '../../config/proxy-config.js';
import { basicAuthorization } from '../../auth/basic.js';
import { debug } from '../../debug.js';
import { openForwardSocket } from '../../transport/forward.js';
import { openTunnel } from '../../transport/tunnel.js';
import { originTls, routingOptions, transportOptions, type ProxyClientOptions } from '../client-options.js';
import { handleForward407 } from './forward-retry.js';

export type ProxyAgentOptions = ProxyClientOptions & Omit<AgentOptions, 'timeout'> & { timeout?: number };

type ConnectOptions = { host?: string | null; hostname?: string | null; port?: number | string | null; servername?: string };
type Callback = (error: Error | null, socket?: Duplex) => void;

function targetUrl(scheme: 'http:' | 'https:', o: ConnectOptions, path = '/'): URL {
  const host = unbracket(o.hostname ?? o.host ?? 'localhost');
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return new URL(`${scheme}//${hostPart}${o.port ? `:${o.port}` : ''}${path.startsWith('/') ? path : '/'}`);
}

function baseAddRequest(base: typeof HttpAgent | typeof HttpsAgent, agent: HttpAgent, req: ClientRequest, options: unknown): void {
  (base.prototype as unknown as { addRequest(r: ClientRequest, o: unknown): void }).addRequest.call(agent, req, options);
}

/**
 * `node:http` agent for `http:` URLs (the seed's urllib opener, for Node). Bypassed hosts are reached
 * directly; the rest are sent to the proxy in absolute form, on kept-alive proxy connections that each
 * got a fresh Negotiate token on their first request, with 407s answered as the core does.
 */
export class ProxyHttpAgent extends HttpAgent {
  readonly #options: ProxyClientOptions;
  readonly #routing: ProxyOptions | undefined;

  constructor(options: ProxyAgentOptions = {}) {
    super({ keepAlive: true, ...options });
    this.#options = options;
    this.#routing = routingOptions(options);
  }

  #route(url: URL): Route {
    return resolveConfig(this.#routing).route(url);
  }

  // Agent#addRequest is public API in practice (agent-base, http-proxy-agent) but not in @types/node.
  addRequest(req: ClientRequest, options: ConnectOptions): void {
    const target = targetUrl('http:', options, req.path);
    const route = this.#route(target);
    // Proxy-Authorization is ours alone: a caller's never travels, ours goes to the proxy only.
    req.removeHeader('proxy-authorization');
    if (route.type === 'proxy') {
      req.path = target.href;
      if (route.auth === 'basic' && route.proxy.credentials) req.setHeader('proxy-authorization', basicAuthorization(route.proxy.credentials));
      handleForward407(req, route, transportOptions(this.#options), target);
    }
    baseAddRequest(HttpAgent, this, req, options);
  }

  override createConnection(options: ConnectOptions, callback: Callback): Duplex | undefined {
    const target = targetUrl('http:', options);
    const route = this.#route(target);
    if (route.type === 'direct') {
      debug('node:http %s: direct (%s)', target.origin, route.rule);
      return (HttpAgent.prototype as unknown as { createConnection(o: unknown, cb: Callback): Duplex }).createConnection.call(this, options, callback);
    }
    debug('node:http %s: forward via %s', target.origin, route.proxy.redacted);
    openForwardSocket(route, transportOptions(this.#options)).then(
      (socket) => callback(null, socket),
      (error: Error) => callback(error),
    );
    return undefined;
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
  const { host: _host, port: _port, path: _path, servername, ...tls } = options as ConnectOptions & { path?: unknown };
  const identity = servername ? servername : target;
  return { ...(tls as ConnectionOptions), host: identity, ...(isIP(identity) === 0 && { servername: identity }) };
}

/**
 * `node:https` agent: bypassed hosts directly, the rest through a CONNECT tunnel (Negotiate on the
 * CONNECT, 407s answered on it) and then TLS with the origin, certificate checked against the target
 * as the request named it.
 */
export class ProxyHttpsAgent extends HttpsAgent {
  readonly #options: ProxyClientOptions;
  readonly #routing: ProxyOptions | undefined;

  constructor(options: ProxyAgentOptions & HttpsAgentOptions = {}) {
    super({ keepAlive: true, ...originTls(options), ...options });
    this.#options = options;
    this.#routing = routingOptions(options);
  }

  addRequest(req: ClientRequest, options: ConnectOptions): void {
    req.removeHeader('proxy-authorization'); // it would travel inside the tunnel, to the origin
    baseAddRequest(HttpsAgent, this, req, options);
  }

  override createConnection(options: ConnectOptions & Record<string, unknown>, callback: Callback): Duplex | undefined {
    const target = targetUrl('https:', options);
    const route = resolveConfig(this.#routing).route(target);
    if (route.type === 'direct') {
      debug('node:https %s: direct (%s)', target.origin, route.rule);
      return (HttpsAgent.prototype as unknown as { createConnection(o: unknown, cb: Callback): Duplex }).createConnection.call(this, options, callback);
    }
    const host = unbracket(target.hostname);
    openTunnel(route, host, Number(target.port) || 443, transportOptions(this.#options)).then(
      (raw) => callback(null, tlsConnect({ ...tunnelTls(options, host), socket: raw })),
      (error: Error) => callback(error),
    );
    return undefined;
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
