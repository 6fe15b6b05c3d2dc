import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, isIP, type AddressInfo, type BlockList, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { offeredSchemes, parseChallenges } from '../auth/challenge.js';
import { DEFAULT_PORTS, unbracket } from '../config/host.js';
import { InvalidOptionError } from '../config/errors.js';
import { resolveConfig, type Route } from '../config/proxy-config.js';
import { JaatoProxyError, unwrapError } from '../errors.js';
import { routingOptions, transportOptions } from '../transport/options.js';
import { ProxyDispatcher, type ProxyDispatcherOptions } from '../adapters/undici/proxy-dispatcher.js';
import { ProxyAuthenticationError, ProxyTunnelError } from '../transport/errors.js';
import { openTunnel } from '../transport/tunnel.js';
import { decideRetry } from '../transport/retry-decision.js';
import { errorCode, reportRetry } from '../transport/retry-report.js';
import { openFirstReachable } from '../pac/first-reachable.js';
import { pacRouterFor, pacRoutes } from '../pac/pac-route.js';
import { resolveRouting, type Routing } from '../routing/routing.js';
import type { PacRouter } from '../pac/pac-router.js';
import { allowList, parseAllowEntry } from './allow-list.js';
import { sentCredential } from './client-credential.js';
import { ListeningAddresses } from './self-address.js';

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
}

// RFC 9110 §7.6.1: connection-specific fields are not forwarded; Proxy-* belong to this hop only.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function endToEnd(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const listed = new Set(String(headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim()));
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k) && !listed.has(k)) out[k] = v;
  return out;
}

/** A Via list (RFC 9110 §7.6.3) with one more entry appended. */
function appendVia(via: string | string[] | undefined, entry: string): string {
  const before = Array.isArray(via) ? via.join(', ') : via;
  return before ? `${before}, ${entry}` : entry;
}

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

  #isAllowed(socket: Socket): boolean {
    const address = socket.remoteAddress ?? '';
    const family = isIP(address);
    return family !== 0 && this.#allowed.check(address, family === 6 ? 'ipv6' : 'ipv4');
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

  /** The address of ours that `host:port` reaches, if it does (a request to this proxy itself). */
  #ownAddress(host: string, port: number): Promise<string | undefined> {
    return this.#self ? this.#self.reachedBy(host, port) : Promise.resolve(undefined);
  }

  #route(target: URL): Route | undefined {
    try {
      return this.#routingNow().config.route(target);
    } catch {
      return undefined; // the dispatcher reports the configuration error to the client
    }
  }

  /**
   * The route a forwarded request took, for the log: the configuration's, or with a PAC the PAC's
   * first entry once the dispatcher is done (a proxy it found dead is marked bad by then, so last).
   */
  async #chosen(target: URL, configured: Route | undefined): Promise<Route | undefined> {
    if (!this.#routingNow().pac) return configured;
    return this.#routes(target).then(({ routes }) => routes[0], () => undefined);
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

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const client = req.socket.remoteAddress ?? '?';
    const method = req.method ?? 'GET';
    const done = (host: string, route: AccessLogEntry['route'], status: number, bytes: number): void =>
      this.#log({ client, method, host, route, status, bytes, ms: Math.round(performance.now() - started) });
    const reply = (status: number, text: string, host = '-', route: AccessLogEntry['route'] = 'refused'): void => {
      const challenge = status === 407 ? { 'proxy-authenticate': this.#refusal.challenge } : {};
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) + 1, ...challenge }).end(`${text}\n`);
      done(host, route, status, Buffer.byteLength(text) + 1);
    };
    if (!this.#isAllowed(req.socket)) return reply(403, `jaato-proxy: client ${client} is not allowed (serve --allow)`);
    if (!this.#authorized(req)) return reply(407, this.#refusal.text);
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      return reply(400, 'jaato-proxy: this is a proxy; send absolute-form requests (GET http://host/path) or CONNECT');
    }
    if (this.#looped(req.headers.via)) return reply(508, LOOPED, target.host);
    const port = target.port === '' ? (DEFAULT_PORTS[target.protocol] ?? 0) : Number(target.port);
    void this.#ownAddress(target.hostname, port).then((own) => {
      if (own) return reply(508, `jaato-proxy: the request targets this proxy itself (${target.host} reaches ${own})`, target.host);
      this.#forward(req, res, target, reply, done);
    });
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
    const expect = req.headers.expect?.toLowerCase();
    if (expect !== undefined && expect !== '100-continue') return reply(417, `jaato-proxy: cannot meet "Expect: ${expect}"`, target.host);
    delete req.headers.expect;
    const resolved = this.#route(target);
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    const headers = { ...endToEnd(req.headers), host: target.host, via: appendVia(req.headers.via, this.#via) };
    this.#dispatcher
      .request({ origin: target.origin, path: `${target.pathname}${target.search}`, method: req.method as 'GET', headers, body: hasBody ? req : null })
      .then(
        (upstream) => {
          if (upstream.statusCode === 407) {
            upstream.body.destroy();
            void this.#chosen(target, resolved).then((r) => reply(502, `jaato-proxy: ${unanswered407(r, target, upstream.headers['proxy-authenticate'])}`, target.host, 'error'));
            return;
          }
          let bytes = 0;
          const back = endToEnd(upstream.headers as Record<string, string | string[] | undefined>);
          res.writeHead(upstream.statusCode, { ...back, via: appendVia(back.via, this.#via) });
          upstream.body.on('data', (c: Buffer) => (bytes += c.length));
          // The answer has begun: a failure now cannot become a 502, so the client's connection is cut
          // (pipe() would leave it open, waiting for the rest forever).
          upstream.body.on('error', () => res.destroy());
          upstream.body.pipe(res);
          res.on('close', () => {
            if (!res.writableFinished) upstream.body.destroy();
            void this.#chosen(target, resolved).then((r) => done(target.host, r?.type ?? 'error', upstream.statusCode, bytes));
          });
        },
        (error: unknown) => reply(502, `jaato-proxy: ${message(error)}`, target.host, 'error'),
      );
  }

  /** This hop's Via entry. */
  get #via(): string {
    return `1.1 ${this.#mark}`;
  }

  #onConnect(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = performance.now();
    const client = (socket as Socket).remoteAddress ?? '?';
    const authority = req.url ?? '';
    const log = (route: AccessLogEntry['route'], status: number, bytes: number): void =>
      this.#log({ client, method: 'CONNECT', host: authority, route, status, bytes, ms: Math.round(performance.now() - started) });
    const refuse = (status: string, text: string, route: AccessLogEntry['route']): void => {
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text) + 1}\r\n${this.#challengeLine(status)}connection: close\r\n\r\n${text}\n`);
      log(route, Number(status.slice(0, 3)), 0);
    };
    socket.on('error', () => socket.destroy());
    this.#track(socket);
    if (!this.#isAllowed(socket as Socket)) return refuse('403 Forbidden', `jaato-proxy: client ${client} is not allowed (serve --allow)`, 'refused');
    if (!this.#authorized(req)) return refuse('407 Proxy Authentication Required', this.#refusal.text, 'refused');
    let target: URL;
    try {
      target = new URL(`https://${authority}/`);
      if (!target.port && !authority.endsWith(':443')) throw new Error('no port');
    } catch {
      return refuse('400 Bad Request', 'jaato-proxy: CONNECT needs host:port', 'refused');
    }
    if (this.#looped(req.headers.via)) return refuse('508 Loop Detected', LOOPED, 'refused');
    const host = unbracket(target.hostname);
    const port = Number(target.port || 443);
    void this.#ownAddress(target.hostname, port).then((own) => {
      if (own) return refuse('508 Loop Detected', `jaato-proxy: CONNECT to this proxy itself (${authority} reaches ${own})`, 'refused');
      if (this.#closing) return socket.destroy();
      // A configuration error (a malformed variable, a PAC that cannot be loaded) is the 502's text.
      this.#open(socket, target, host, port, req.headers.via).then(
        (opened) => {
          if (!opened) return;
          socket.write(ESTABLISHED);
          if (head.length > 0) opened.remote.write(head);
          this.#splice(socket, opened.remote, (bytes) => log(opened.route.type, 200, bytes));
        },
        (error: unknown) => {
          if (this.#closing) return socket.destroy();
          // A loop found further up (another proxy led our CONNECT back to us) is a loop here too.
          const e = unwrapError(error);
          if (e instanceof ProxyTunnelError && e.statusCode === 508) return refuse('508 Loop Detected', `jaato-proxy: ${e.message}`, 'error');
          refuse('502 Bad Gateway', `jaato-proxy: ${message(error)}`, 'error');
        },
      );
    });
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
    const open = (r: Route): Promise<Socket> =>
      r.type === 'direct' ? connectDirect(host, port, transport.timeout) : openTunnel(r, host, port, { ...transport, connectHeaders: { Via: appendVia(via, this.#via) } });
    // A refused dial or a proxy that closed before answering CONNECT: nothing of the client's went
    // anywhere, so it is tried again (retry-decision.ts), as a forwarded request's would be.
    const began = performance.now();
    let opened: { value: Socket; route: Route };
    for (let attempt = 1; ; attempt++) {
      try {
        opened = await openFirstReachable(routes, router, open);
        break;
      } catch (error) {
        const decision = decideRetry('CONNECT', true, error, false, attempt, performance.now() - began, Math.random());
        const upstream = routes.find((r) => r.type === 'proxy');
        if (!decision.retry || !upstream || socket.destroyed || this.#closing) throw error;
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
    remote.on('close', close).on('error', close);
    socket.on('close', close);
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
    const log = (host: string, route: AccessLogEntry['route'], status: number, bytes: number): void =>
      this.#log({ client, method, host, route, status, bytes, ms: Math.round(performance.now() - started) });
    const refuse = (status: string, text: string, host: string, route: AccessLogEntry['route']): void => {
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text) + 1}\r\n${this.#challengeLine(status)}connection: close\r\n\r\n${text}\n`);
      log(host, route, Number(status.slice(0, 3)), 0);
    };
    socket.on('error', () => socket.destroy());
    this.#track(socket);
    if (!this.#isAllowed(socket as Socket)) return refuse('403 Forbidden', `jaato-proxy: client ${client} is not allowed (serve --allow)`, '-', 'refused');
    if (!this.#authorized(req)) return refuse('407 Proxy Authentication Required', this.#refusal.text, '-', 'refused');
    let target: URL;
    try {
      // Clients name a WebSocket target `http://` or `ws://` (the same thing on the wire).
      target = new URL(req.url ?? '');
      if (target.protocol !== 'http:' && target.protocol !== 'ws:') throw new Error('not http');
    } catch {
      return refuse('400 Bad Request', 'jaato-proxy: this is a proxy; send absolute-form requests (GET http://host/path) or CONNECT', '-', 'refused');
    }
    if (this.#looped(req.headers.via)) return refuse('508 Loop Detected', LOOPED, target.host, 'refused');
    const host = unbracket(target.hostname);
    const port = target.port === '' ? 80 : Number(target.port);
    void this.#ownAddress(target.hostname, port).then((own) => {
      if (own) return refuse('508 Loop Detected', `jaato-proxy: the request targets this proxy itself (${target.host} reaches ${own})`, target.host, 'refused');
      if (this.#closing) return socket.destroy();
      this.#open(socket, target, host, port, req.headers.via).then(
        (opened) => {
          if (!opened) return;
          opened.remote.write(upgradeHead(req, target, appendVia(req.headers.via, this.#via)));
          if (head.length > 0) opened.remote.write(head);
          this.#splice(socket, opened.remote, (bytes) => log(target.host, opened.route.type, 101, bytes));
        },
        (error: unknown) => (this.#closing ? socket.destroy() : refuse('502 Bad Gateway', `jaato-proxy: ${message(error)}`, target.host, 'error')),
      );
    });
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

/**
 * A direct TCP connection for a client's tunnel or upgrade, bounded as every other dial is (the
 * connect timeout, default 10 s): an address that drops SYNs would otherwise hold the client for the
 * system's connect timeout (minutes).
 */
function connectDirect(host: string, port: number, timeout: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new JaatoProxyError('ERR_JAATO_CONNECT_TIMEOUT', `Timed out after ${timeout} ms connecting to ${host.includes(':') ? `[${host}]` : host}:${port} (direct)`));
    }, timeout);
    s.once('connect', () => {
      clearTimeout(timer);
      s.off('error', onError);
      resolve(s);
    });
    const onError = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    s.once('error', onError);
  });
}

const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';

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
