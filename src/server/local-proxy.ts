import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo, type BlockList, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { offeredSchemes, parseChallenges } from '../auth/challenge.js';
import { DEFAULT_PORTS, unbracket } from '../config/host.js';
import { InvalidOptionError } from '../config/errors.js';
import { resolveConfig, type Route } from '../config/proxy-config.js';
import { unwrapError } from '../errors.js';
import { routingOptions, transportOptions } from '../transport/options.js';
import { ProxyDispatcher, type ProxyDispatcherOptions } from '../adapters/undici/proxy-dispatcher.js';
import { ProxyAuthenticationError, ProxyTunnelError } from '../transport/errors.js';
import { openTunnel } from '../transport/tunnel.js';
import { decideRetry } from '../transport/retry-decision.js';
import { errorCode, reportNoRetry, reportRetry } from '../transport/retry-report.js';
import { openFirstReachable } from '../pac/first-reachable.js';
import { pacRouterFor, pacRoutes } from '../pac/pac-route.js';
import { resolveRouting, type Routing } from '../routing/routing.js';
import type { PacRouter } from '../pac/pac-router.js';
import { allowList, parseAllowEntry } from './allow-list.js';
import { sentCredential } from './client-credential.js';
import { ListeningAddresses } from './self-address.js';
import { appendVia, endToEnd } from './hop-headers.js';
import { ResponseRelay } from './response-relay.js';
import { connectDirect } from './direct-dial.js';

export interface LocalProxyOptions extends ProxyDispatcherOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on (0: any free one). Default 3128. */
  port?: number;
  /**
   * Client addresses or CIDR ranges allowed besides loopback (`127.0.0.1`, `::1`). Nothing else is
   * served, whatever the listening address: the local proxy is never an open relay.
   */
  allow?: readonly string[];
  /** Called once per finished request or tunnel. */
  log?: (entry: AccessLogEntry) => void;
  /**
   * `user:password` every client must send as Basic `Proxy-Authorization` (else 407): serve's random
   * per-run and the safety net's per-process credential (client-credential.ts), so another local user
   * cannot borrow this user's Kerberos identity. Checked here, never forwarded.
   */
  clientCredential?: string;
  /** The realm of the 407's Basic challenge; default `jaato-proxy local proxy`. */
  clientRealm?: string;
  /** What a client refused with 407 is told to do (the body of the 407). */
  clientHint?: string;
  /**
   * The listener, the connections to it and the tunnels do not keep the process alive (the in-process
   * safety net of `install({ localProxy: true })`: it serves the program, and stops with it).
   */
  unref?: boolean;
}

export interface AccessLogEntry {
  client: string;
  method: string;
  /** host:port of the target. */
  host: string;
  /** direct, proxy (upstream), refused (client not allowed, loop), error. */
  route: 'direct' | 'proxy' | 'refused' | 'error';
  status: number;
  /** Bytes sent to the client (response body, or tunnel bytes towards the client). */
  bytes: number;
  ms: number;
  /** For `error`: the reason the client was told (its 502's text), so the log says why. */
  reason?: string;
}

/** What admission decided: the target, or the refusal to send (and the host for the log line). */
type Admission =
  | { refused?: undefined; target: URL; host: string; hostname: string; port: number }
  | { refused: { status: number; text: string }; host: string };

const refusal = (status: number, text: string, host = '-'): Admission => ({ refused: { status, text }, host });

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 407: 'Proxy Authentication Required', 502: 'Bad Gateway', 508: 'Loop Detected' };

/**
 * A local forward proxy for tools that cannot speak Negotiate (git, pip, curl without GSSAPI, Docker):
 * they point HTTP(S)_PROXY at it and need no credentials; it routes every request with the library's
 * decision (bypass lists honoured) and authenticates upstream per connection, as every adapter does.
 *
 * It cannot loop: it refuses at start an upstream that reaches its own listening socket (by address,
 * after DNS, whatever the spelling), refuses requests and CONNECTs to its own address, and marks what
 * it forwards with a `Via` entry carrying a random per-instance token, so a request that comes back
 * through some other proxy is answered 508 Loop Detected on its second pass.
 */
export class LocalProxy {
  readonly #server: Server;
  readonly #dispatcher: ProxyDispatcher;
  readonly #options: LocalProxyOptions;
  /** Built once: the compiled configuration is cached per this object (and the environment's values). */
  readonly #routing: ReturnType<typeof routingOptions>;
  readonly #allowed: BlockList;
  readonly #allowedSockets = new WeakMap<Socket, boolean>();
  /** Client sockets of CONNECTs and upgrades (from arrival, so close() reaches one still waiting for upstream) and their remotes. */
  readonly #tunnels = new Set<Duplex>();
  /** Set by close(): an upstream that answers afterwards is dropped, not spliced. */
  #closing = false;
  /** Our Via pseudonym (RFC 9110 §7.6.3): unguessable, so only what this instance forwarded carries it. */
  readonly #mark = `jaato-proxy-${randomBytes(8).toString('hex')}`;
  #self: ListeningAddresses | undefined;
  #url = '';

  private constructor(options: LocalProxyOptions) {
    this.#options = options;
    this.#routing = routingOptions(options);
    this.#allowed = allowList((options.allow ?? []).map(parseAllowEntry));
    this.#dispatcher = new ProxyDispatcher(options);
    this.#server = createServer({ keepAlive: true });
    if (options.unref) this.#server.on('connection', (socket: Socket) => socket.unref());
    this.#server.on('request', (req, res) => this.#onRequest(req, res));
    this.#server.on('connect', (req, socket, head) => this.#onConnect(req, socket, head));
    this.#server.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
  }

  /** Starts listening; rejects when the port is taken or the upstream proxy would be this proxy itself. */
  static async start(options: LocalProxyOptions = {}): Promise<LocalProxy> {
    const proxy = new LocalProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(options.port ?? 3128, options.host ?? '127.0.0.1', () => resolve());
    });
    if (options.unref) proxy.#server.unref();
    const { address, port } = proxy.#server.address() as AddressInfo;
    proxy.#url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    proxy.#self = new ListeningAddresses(address, port);
    try {
      await proxy.#refuseSelfLoop(proxy.#self);
    } catch (error) {
      await proxy.close();
      throw error;
    }
    return proxy;
  }

  /** e.g. `http://127.0.0.1:3128` */
  get url(): string {
    return this.#url;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Whether the request carries the client credential (always, when none is required). */
  #authorized(req: IncomingMessage): boolean {
    const wanted = this.#options.clientCredential;
    return wanted === undefined || sentCredential(req.headers['proxy-authorization'], wanted);
  }

  /** The challenge a 407 of ours carries, as a raw header line (empty for any other status). */
  #challengeLine(status: string): string {
    return status.startsWith('407') ? `proxy-authenticate: ${this.#refusal.challenge}\r\n` : '';
  }

  /** The 407's challenge and text. */
  get #refusal(): { challenge: string; text: string } {
    return { challenge: `Basic realm="${this.#options.clientRealm ?? 'jaato-proxy local proxy'}"`, text: this.#options.clientHint ?? NOT_AUTHORIZED };
  }

  /**
   * Tracks a client socket handed over by a 'connect' or 'upgrade' event from its arrival: Node's
   * closeAllConnections() no longer sees it, and close() must end one still waiting for its upstream.
   */
  #track(socket: Duplex): void {
    this.#tunnels.add(socket);
    socket.once('close', () => this.#tunnels.delete(socket));
  }

  /** Whether the client at the other end of `socket` may be served: once per connection (a BlockList check builds a SocketAddress). */
  #isAllowed(socket: Socket): boolean {
    const known = this.#allowedSockets.get(socket);
    if (known !== undefined) return known;
    const address = socket.remoteAddress ?? '';
    const family = isIP(address);
    const allowed = family !== 0 && this.#allowed.check(address, family === 6 ? 'ipv6' : 'ipv4');
    this.#allowedSockets.set(socket, allowed);
    return allowed;
  }

  /**
   * An upstream proxy that is this very server would loop forever: refuse at start, naming the
   * variable. Compared by address, after DNS (every address of the name), so no spelling of this host
   * (its name, `127.1`, `[::ffff:127.0.0.1]`, an interface's address under a wildcard listener) passes.
   */
  async #refuseSelfLoop(self: ListeningAddresses): Promise<void> {
    const config = resolveConfig(this.#routing);
    for (const scheme of ['http:', 'https:']) {
      const upstream = config.proxyFor(scheme);
      const hit = upstream && (await self.reachedBy(upstream.hostname, upstream.port));
      if (upstream && hit) {
        throw new InvalidOptionError(
          upstream.source,
          `points at this local proxy itself (${upstream.redacted} reaches ${hit.includes(':') ? `[${hit}]` : hit}:${upstream.port}, where serve listens on ${this.#url}): ` +
            'give serve the upstream (corporate) proxy, e.g. --proxy http://proxy.corp:8080',
        );
      }
    }
  }

  /** Whether a request already passed through this instance: its Via carries our mark. */
  #looped(via: string | string[] | undefined): boolean {
    return via !== undefined && (Array.isArray(via) ? via.join(',') : via).includes(this.#mark);
  }

  /**
   * The routes to try, in order: the PAC's entries when a PAC is configured (with its router, which
   * hears of a proxy found dead), else the one decision.
   */
  async #routes(target: URL): Promise<{ routes: Route[]; router?: PacRouter }> {
    const { config, pac } = this.#routingNow();
    if (!pac) return { routes: [config.route(target)] };
    const router = pacRouterFor(pac.url);
    return { routes: (await pacRoutes(target, config, pac, router)).routes, router };
  }

  /** The configuration and PAC setting as the environment is now (compiled again only when it changed). */
  #routingNow(): Routing {
    return resolveRouting(this, this.#routing, this.#options.pac);
  }

  #log(entry: AccessLogEntry): void {
    this.#options.log?.(entry);
  }

  /**
   * Admission, the same for a forwarded request, a CONNECT and an upgrade: the client allowed and
   * authorized, a target this kind of request can name, no loop (our Via mark) and not this proxy
   * itself (by address, after DNS: a lookup only when the port is ours). Returns the target, or the
   * refusal to send; a promise only when that lookup was needed.
   */
  #admit(req: IncomingMessage, socket: Socket, kind: 'forward' | 'connect' | 'upgrade'): Admission | Promise<Admission> {
    if (!this.#isAllowed(socket)) return refusal(403, `jaato-proxy: client ${socket.remoteAddress ?? '?'} is not allowed (serve --allow)`);
    if (!this.#authorized(req)) return refusal(407, this.#refusal.text);
    const raw = req.url ?? '';
    let target: URL;
    try {
      target = new URL(kind === 'connect' ? `https://${raw}/` : raw);
      if (kind === 'connect' && !target.port && !raw.endsWith(':443')) throw new Error('no port');
      // Clients name a WebSocket target `http://` or `ws://` (the same thing on the wire).
      if (kind === 'upgrade' && target.protocol !== 'http:' && target.protocol !== 'ws:') throw new Error('not http');
    } catch {
      return refusal(400, kind === 'connect' ? 'jaato-proxy: CONNECT needs host:port' : NOT_A_PROXY_REQUEST);
    }
    const host = kind === 'connect' ? raw : target.host;
    if (this.#looped(req.headers.via)) return refusal(508, LOOPED, host);
    const port = target.port === '' ? (DEFAULT_PORTS[kind === 'upgrade' ? 'http:' : target.protocol] ?? 0) : Number(target.port);
    const admitted: Admission = { target, host, hostname: unbracket(target.hostname), port };
    if (!this.#self || port !== this.#self.port) return admitted; // the usual case: no lookup, no promise
    const what = kind === 'connect' ? 'CONNECT to this proxy itself' : 'the request targets this proxy itself';
    return this.#self.reachedBy(target.hostname, port).then((own) => (own ? refusal(508, `jaato-proxy: ${what} (${host} reaches ${own})`, host) : admitted));
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const client = req.socket.remoteAddress ?? '?';
    const method = req.method ?? 'GET';
    const done = (host: string, route: AccessLogEntry['route'], status: number, bytes: number, reason?: string): void =>
      this.#log({ client, method, host, route, status, bytes, ms: Math.round(performance.now() - started), ...(reason !== undefined && { reason }) });
    const reply = (status: number, text: string, host = '-', route: AccessLogEntry['route'] = 'refused'): void => {
      const challenge = status === 407 ? { 'proxy-authenticate': this.#refusal.challenge } : {};
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) + 1, ...challenge }).end(`${text}\n`);
      done(host, route, status, Buffer.byteLength(text) + 1, route === 'error' ? text : undefined);
    };
    const go = (a: Admission): void => (a.refused ? reply(a.refused.status, a.refused.text, a.host) : this.#forward(req, res, a.target, reply, done));
    const admission = this.#admit(req, req.socket, 'forward');
    if (admission instanceof Promise) void admission.then(go);
    else go(admission);
  }

  #forward(
    req: IncomingMessage,
    res: ServerResponse,
    target: URL,
    reply: (status: number, text: string, host?: string, route?: AccessLogEntry['route']) => void,
    done: (host: string, route: AccessLogEntry['route'], status: number, bytes: number) => void,
  ): void {
    // Node's server has already answered `Expect: 100-continue` with 100 Continue; the expectation is
    // met on this hop and is not passed on (undici refuses it). Others cannot be met (RFC 9110 §10.1.1).
    const expect = req.headers.expect;
    if (expect !== undefined && expect.toLowerCase() !== '100-continue') return reply(417, `jaato-proxy: cannot meet "Expect: ${expect.toLowerCase()}"`, target.host);
    // The route, computed once here, is the log line's (with a PAC, the entry it put first).
    const route = this.#routeOnce(target);
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    const headers = endToEnd(req.headers);
    delete headers.expect;
    headers.host = target.host;
    headers.via = appendVia(req.headers.via, this.#via);
    const relay = new ResponseRelay(res, this.#via, (outcome) => {
      const end = (r: Route | undefined): void => {
        if (outcome.error) return reply(502, `jaato-proxy: ${message(outcome.error)}`, target.host, 'error');
        if (outcome.status === 407) return reply(502, `jaato-proxy: ${unanswered407(r, target, outcome.unanswered407)}`, target.host, 'error');
        done(target.host, r?.type ?? 'error', outcome.status, outcome.bytes);
      };
      if (route instanceof Promise) void route.then(end);
      else end(route);
    });
    this.#dispatcher.dispatch({ origin: target.origin, path: `${target.pathname}${target.search}`, method: req.method as 'GET', headers, body: hasBody ? req : null }, relay);
  }

  /**
   * The route of a forwarded request, for its log line and a 502's text: the configuration's decision,
   * or with a PAC its first entry; undefined for a configuration error (the dispatcher reports it).
   */
  #routeOnce(target: URL): Route | undefined | Promise<Route | undefined> {
    try {
      const { config, pac } = this.#routingNow();
      if (!pac) return config.route(target);
    } catch {
      return undefined;
    }
    return this.#routes(target).then(({ routes }) => routes[0], () => undefined);
  }

  /** This hop's Via entry. */
  get #via(): string {
    return `1.1 ${this.#mark}`;
  }

  /** The raw refusal for a CONNECT or an upgrade (the client socket is not an HTTP response). */
  #refuseRaw(socket: Duplex, status: number, text: string): void {
    const line = `${status} ${STATUS_TEXT[status] ?? 'Error'}`;
    socket.end(`HTTP/1.1 ${line}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text) + 1}\r\n${this.#challengeLine(line)}connection: close\r\n\r\n${text}\n`);
  }

  #onConnect(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = performance.now();
    const client = (socket as Socket).remoteAddress ?? '?';
    const authority = req.url ?? '';
    const log = (route: AccessLogEntry['route'], status: number, bytes: number, reason?: string): void =>
      this.#log({ client, method: 'CONNECT', host: authority, route, status, bytes, ms: Math.round(performance.now() - started), ...(reason !== undefined && { reason }) });
    const refuse = (status: number, text: string, route: AccessLogEntry['route']): void => {
      this.#refuseRaw(socket, status, text);
      log(route, status, 0, route === 'error' ? text : undefined);
    };
    socket.on('error', () => socket.destroy());
    this.#track(socket);
    const go = (a: Admission): void => {
      if (a.refused) return refuse(a.refused.status, a.refused.text, 'refused');
      if (this.#closing) return void socket.destroy();
      // A configuration error (a malformed variable, a PAC that cannot be loaded) is the 502's text.
      this.#open(socket, a.target, a.hostname, a.port, req.headers.via).then(
        (opened) => {
          if (!opened) return;
          socket.write(ESTABLISHED);
          if (head.length > 0) opened.remote.write(head);
          this.#splice(socket, opened.remote, (bytes) => log(opened.route.type, 200, bytes));
        },
        (error: unknown) => {
          if (this.#closing) return void socket.destroy();
          // A loop found further up (another proxy led our CONNECT back to us) is a loop here too.
          const e = unwrapError(error);
          if (e instanceof ProxyTunnelError && e.statusCode === 508) return refuse(508, `jaato-proxy: ${e.message}`, 'error');
          refuse(502, `jaato-proxy: ${message(error)}`, 'error');
        },
      );
    };
    const admission = this.#admit(req, socket as Socket, 'connect');
    if (admission instanceof Promise) void admission.then(go);
    else go(admission);
  }

  /**
   * A raw connection to `host:port` for a client's tunnel or upgrade: directly, or through a CONNECT
   * tunnel of the upstream proxy (with our Via). With a PAC there are several routes: a proxy that
   * cannot be reached gives way to the next. Undefined (both ends closed) when the client left or
   * serve began closing meanwhile.
   */
  async #open(socket: Duplex, target: URL, host: string, port: number, via: string | string[] | undefined): Promise<{ remote: Socket; route: Route } | undefined> {
    const { routes, router } = await this.#routes(target);
    const transport = transportOptions(this.#options);
    // Every dial is bounded by the connect timeout: a direct one by its own timer, a tunnel's whole
    // set-up (dial, token, CONNECT answer) by one deadline.
    const open = (r: Route): Promise<Socket> =>
      r.type === 'direct'
        ? connectDirect(host, port, transport.timeout)
        : openTunnel(r, host, port, { ...transport, deadline: performance.now() + transport.timeout, connectHeaders: { Via: appendVia(via, this.#via) } });
    // A refused dial or a proxy that closed before answering CONNECT: nothing of the client's went
    // anywhere, so it is tried again (retry-decision.ts), as a forwarded request's would be.
    let firstFailure: number | undefined;
    let opened: { value: Socket; route: Route };
    for (let attempt = 1; ; attempt++) {
      try {
        opened = await openFirstReachable(routes, router, open);
        break;
      } catch (error) {
        firstFailure ??= performance.now();
        const decision = decideRetry('CONNECT', true, error, false, attempt, performance.now() - firstFailure, Math.random());
        const upstream = routes.find((r) => r.type === 'proxy');
        if (!decision.retry || !upstream || socket.destroyed || this.#closing) {
          if (!decision.retry && upstream && decision.reason !== 'not-a-connection-failure') reportNoRetry('CONNECT', upstream.proxy.redacted, decision.reason, attempt, performance.now() - firstFailure, errorCode(error));
          throw error;
        }
        reportRetry({ method: 'CONNECT', proxy: upstream.proxy.redacted, attempt: attempt + 1, reason: decision.reason, delay: decision.delay }, errorCode(error));
        await new Promise((resolve) => setTimeout(resolve, decision.delay));
        if (socket.destroyed || this.#closing) throw error; // the client left, or serve is closing: no new dial
      }
    }
    const { value: remote, route } = opened;
    if (socket.destroyed || this.#closing) {
      socket.destroy();
      remote.destroy();
      return undefined;
    }
    return { remote, route };
  }

  /** Joins the client's connection and the remote one until either closes; `done` gets the bytes sent back. */
  #splice(socket: Duplex, remote: Socket, done: (bytes: number) => void): void {
    if (this.#options.unref) remote.unref();
    this.#tunnels.add(socket).add(remote);
    let ended = false; // not by the set: #track's own 'close' listener may have taken the socket out first
    // pipe() both ways and nothing else per chunk: the byte count for the log is the client socket's
    // own counter (queued bytes included), read once at the end.
    const before = (socket as Socket).bytesWritten;
    remote.pipe(socket).pipe(remote);
    const close = (): void => {
      if (ended) return;
      ended = true;
      this.#tunnels.delete(socket);
      this.#tunnels.delete(remote);
      const bytes = Math.max(0, (socket as Socket).bytesWritten - before);
      socket.destroy();
      remote.destroy();
      done(bytes);
    };
    remote.on('error', close);
    socket.on('close', close);
    remote.on('close', (hadError: boolean) => {
      if (hadError || socket.destroyed || socket.writableFinished) return close();
      // The remote's last bytes can still be queued for a slow client (a write under the high-water
      // mark does not pause the read, so EOF follows it): end the client's side after them and close
      // once they are written, within a bound for a client that stops reading.
      socket.once('finish', close).end();
      setTimeout(close, TAIL_BOUND).unref();
    });
  }

  /**
   * A forwarded request with `Upgrade` (a ws:// WebSocket): passed on, not answered. The upgrade is
   * end to end, so it goes through a CONNECT tunnel of the upstream proxy (as a browser's WebSocket
   * does; forwarding proxies rarely pass an Upgrade on), or directly, and the request head is
   * written there in origin form with its Upgrade and Connection; from then on bytes pass both ways.
   */
  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = performance.now();
    const client = (socket as Socket).remoteAddress ?? '?';
    const method = req.method ?? 'GET';
    const log = (host: string, route: AccessLogEntry['route'], status: number, bytes: number, reason?: string): void =>
      this.#log({ client, method, host, route, status, bytes, ms: Math.round(performance.now() - started), ...(reason !== undefined && { reason }) });
    const refuse = (status: number, text: string, host: string, route: AccessLogEntry['route']): void => {
      this.#refuseRaw(socket, status, text);
      log(host, route, status, 0, route === 'error' ? text : undefined);
    };
    socket.on('error', () => socket.destroy());
    this.#track(socket);
    const go = (a: Admission): void => {
      if (a.refused) return refuse(a.refused.status, a.refused.text, a.host, 'refused');
      if (this.#closing) return void socket.destroy();
      const { target } = a;
      this.#open(socket, target, a.hostname, a.port, req.headers.via).then(
        (opened) => {
          if (!opened) return;
          opened.remote.write(upgradeHead(req, target, appendVia(req.headers.via, this.#via)));
          if (head.length > 0) opened.remote.write(head);
          this.#splice(socket, opened.remote, (bytes) => log(target.host, opened.route.type, 101, bytes));
        },
        (error: unknown) => (this.#closing ? socket.destroy() : refuse(502, `jaato-proxy: ${message(error)}`, target.host, 'error')),
      );
    };
    const admission = this.#admit(req, socket as Socket, 'upgrade');
    if (admission instanceof Promise) void admission.then(go);
    else go(admission);
  }

  /** Stops listening, ends the tunnels in flight and closes upstream connections. */
  async close(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#tunnels) s.destroy();
    this.#tunnels.clear();
    this.#server.closeAllConnections();
    await Promise.all([closed, this.#dispatcher.destroy()]);
  }
}

const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';
/** How long a tunnel's client has to take the remote's last queued bytes once the remote has closed. */
const TAIL_BOUND = 30_000;

/**
 * The upgrade request as the origin gets it: origin form, the client's fields (Upgrade and Connection
 * included: they are what is passed on) without the Proxy-* ones, which are for this hop only.
 */
function upgradeHead(req: IncomingMessage, target: URL, via: string): string {
  let out = `${req.method ?? 'GET'} ${target.pathname}${target.search} HTTP/1.1\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name.startsWith('proxy-') || name === 'via') continue;
    out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  return `${out}Via: ${via}\r\n\r\n`;
}

const NOT_AUTHORIZED = 'jaato-proxy: this local proxy needs the credential in the proxy URL it was given (JAATO_LOCAL_PROXY_URL)';


const NOT_A_PROXY_REQUEST = 'jaato-proxy: this is a proxy; send absolute-form requests (GET http://host/path) or CONNECT';

const LOOPED = 'jaato-proxy: loop detected: this request has already passed through this proxy (its Via carries our mark); the upstream proxy leads back here';

/**
 * The text for a 407 that reached serve unanswered. It is never passed on: its challenge is for this
 * hop only (RFC 9110 §11.7.1), and a 407 without one is forbidden (§15.5.8). Behind a proxy route the
 * library answers 407s itself, so this is the defensive case; for a direct route an origin sent it.
 */
function unanswered407(route: Route | undefined, target: URL, challenges: string | string[] | undefined): string {
  if (route?.type === 'proxy') {
    const offered = offeredSchemes(parseChallenges(challenges === undefined ? [] : Array.isArray(challenges) ? challenges : [challenges]));
    return new ProxyAuthenticationError(route.proxy, offered, 'its 407 reached serve unanswered, and serve does not pass on a challenge meant for the hop that received it').message;
  }
  return `${target.host} answered 407 Proxy Authentication Required to a direct request; serve does not pass on a proxy challenge, which is meant for the hop that received it (RFC 9110 §11.7.1)`;
}

function message(error: unknown): string {
  const e = unwrapError(error);
  return e instanceof Error ? e.message : String(e);
}

/** Starts a LocalProxy (see its options). */
export function startLocalProxy(options?: LocalProxyOptions): Promise<LocalProxy> {
  return LocalProxy.start(options);
}
