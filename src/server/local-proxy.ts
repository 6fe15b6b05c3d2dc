import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BlockList, connect as netConnect, isIP, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { InvalidOptionError } from '../config/errors.js';
import { unbracket } from '../config/host.js';
import { resolveConfig, type Route } from '../config/proxy-config.js';
import { unwrapError } from '../errors.js';
import { routingOptions, transportOptions } from '../adapters/client-options.js';
import { ProxyDispatcher, type ProxyDispatcherOptions } from '../adapters/undici/proxy-dispatcher.js';
import { openTunnel } from '../transport/tunnel.js';

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

const LOOPBACK = ['127.0.0.1', '::1', '::ffff:127.0.0.1'];

/**
 * A local forward proxy for tools that cannot speak Negotiate (git, pip, curl without GSSAPI, Docker):
 * they point HTTP(S)_PROXY at it and need no credentials; it routes every request with the library's
 * decision (bypass lists honoured) and authenticates upstream per connection, as every adapter does.
 */
export class LocalProxy {
  readonly #server: Server;
  readonly #dispatcher: ProxyDispatcher;
  readonly #options: LocalProxyOptions;
  /** Built once: the compiled configuration is cached per this object (and the environment's values). */
  readonly #routing: ReturnType<typeof routingOptions>;
  readonly #allowed = new BlockList();
  readonly #tunnels = new Set<Duplex>();
  #url = '';

  private constructor(options: LocalProxyOptions) {
    this.#options = options;
    this.#routing = routingOptions(options);
    for (const a of LOOPBACK) this.#allowed.addAddress(a, isIP(a) === 6 ? 'ipv6' : 'ipv4');
    for (const entry of options.allow ?? []) this.#allow(entry);
    this.#dispatcher = new ProxyDispatcher(options);
    this.#server = createServer({ keepAlive: true });
    this.#server.on('request', (req, res) => this.#onRequest(req, res));
    this.#server.on('connect', (req, socket, head) => this.#onConnect(req, socket, head));
  }

  /** Starts listening; rejects when the port is taken or the upstream proxy would be this proxy itself. */
  static async start(options: LocalProxyOptions = {}): Promise<LocalProxy> {
    const proxy = new LocalProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(options.port ?? 3128, options.host ?? '127.0.0.1', () => resolve());
    });
    const { address, port } = proxy.#server.address() as AddressInfo;
    proxy.#url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    try {
      proxy.#refuseSelfLoop(port);
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

  #allow(entry: string): void {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address);
    if (family === 0) throw new InvalidOptionError('allow', `"${entry}" is not an IP address or CIDR range`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) this.#allowed.addAddress(address, type);
    else if (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32)) this.#allowed.addSubnet(address, Number(bits), type);
    else throw new InvalidOptionError('allow', `"${entry}" has a bad prefix length`);
  }

  #isAllowed(socket: Socket): boolean {
    const address = socket.remoteAddress ?? '';
    const family = isIP(address);
    return family !== 0 && this.#allowed.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** An upstream proxy that is this very server would loop forever: refuse at start, naming the variable. */
  #refuseSelfLoop(port: number): void {
    const config = resolveConfig(this.#routing);
    for (const scheme of ['http:', 'https:']) {
      const upstream = config.proxyFor(scheme);
      if (upstream && upstream.port === port && ['localhost', '127.0.0.1', '::1', '0.0.0.0', this.#options.host ?? '127.0.0.1'].includes(upstream.hostname)) {
        throw new InvalidOptionError(
          upstream.source,
          `points at this local proxy itself (${upstream.redacted}): give serve the upstream (corporate) proxy, e.g. --proxy http://proxy.corp:8080`,
        );
      }
    }
  }

  #route(target: URL): Route | undefined {
    try {
      return resolveConfig(this.#routing).route(target);
    } catch {
      return undefined; // the dispatcher reports the configuration error to the client
    }
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
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) + 1 }).end(`${text}\n`);
      done(host, route, status, Buffer.byteLength(text) + 1);
    };
    if (!this.#isAllowed(req.socket)) return reply(403, `jaato-proxy: client ${client} is not allowed (serve --allow)`);
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      return reply(400, 'jaato-proxy: this is a proxy; send absolute-form requests (GET http://host/path) or CONNECT');
    }
    if (target.host === new URL(this.#url).host) return reply(508, 'jaato-proxy: the request targets this proxy itself', target.host);
    // Node's server has already answered `Expect: 100-continue` with 100 Continue; the expectation is
    // met on this hop and is not passed on (undici refuses it). Others cannot be met (RFC 9110 §10.1.1).
    const expect = req.headers.expect?.toLowerCase();
    if (expect !== undefined && expect !== '100-continue') return reply(417, `jaato-proxy: cannot meet "Expect: ${expect}"`, target.host);
    delete req.headers.expect;
    const route = this.#route(target)?.type ?? 'error';
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    const headers = { ...endToEnd(req.headers), host: target.host };
    this.#dispatcher
      .request({ origin: target.origin, path: `${target.pathname}${target.search}`, method: method as 'GET', headers, body: hasBody ? req : null })
      .then(
        (upstream) => {
          let bytes = 0;
          res.writeHead(upstream.statusCode, endToEnd(upstream.headers as Record<string, string | string[] | undefined>));
          upstream.body.on('data', (c: Buffer) => (bytes += c.length));
          upstream.body.pipe(res);
          res.on('close', () => {
            if (!res.writableFinished) upstream.body.destroy();
            done(target.host, route, upstream.statusCode, bytes);
          });
        },
        (error: unknown) => reply(502, `jaato-proxy: ${message(error)}`, target.host, 'error'),
      );
  }

  #onConnect(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = performance.now();
    const client = (socket as Socket).remoteAddress ?? '?';
    const authority = req.url ?? '';
    const log = (route: AccessLogEntry['route'], status: number, bytes: number): void =>
      this.#log({ client, method: 'CONNECT', host: authority, route, status, bytes, ms: Math.round(performance.now() - started) });
    const refuse = (status: string, text: string, route: AccessLogEntry['route']): void => {
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text) + 1}\r\nconnection: close\r\n\r\n${text}\n`);
      log(route, Number(status.slice(0, 3)), 0);
    };
    socket.on('error', () => socket.destroy());
    if (!this.#isAllowed(socket as Socket)) return refuse('403 Forbidden', `jaato-proxy: client ${client} is not allowed (serve --allow)`, 'refused');
    let target: URL;
    try {
      target = new URL(`https://${authority}/`);
      if (!target.port && !authority.endsWith(':443')) throw new Error('no port');
    } catch {
      return refuse('400 Bad Request', 'jaato-proxy: CONNECT needs host:port', 'refused');
    }
    const host = unbracket(target.hostname);
    const port = Number(target.port || 443);
    const route = this.#route(target);
    if (!route) return refuse('502 Bad Gateway', 'jaato-proxy: the proxy configuration is invalid (see jaato-proxy doctor)', 'error');
    const upstream: Promise<Socket> =
      route.type === 'direct'
        ? new Promise((resolve, reject) => {
            const s = netConnect({ host, port }, () => {
              s.off('error', reject);
              resolve(s);
            });
            s.once('error', reject);
          })
        : openTunnel(route, host, port, transportOptions(this.#options));
    upstream.then(
      (remote) => {
        if (socket.destroyed) return remote.destroy();
        this.#tunnels.add(socket).add(remote);
        let bytes = 0;
        remote.on('data', (c: Buffer) => (bytes += c.length));
        socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
        if (head.length > 0) remote.write(head);
        remote.pipe(socket).pipe(remote);
        const close = (): void => {
          if (!this.#tunnels.delete(socket)) return;
          this.#tunnels.delete(remote);
          socket.destroy();
          remote.destroy();
          log(route.type, 200, bytes);
        };
        remote.on('close', close).on('error', close);
        socket.on('close', close);
      },
      (error: unknown) => refuse('502 Bad Gateway', `jaato-proxy: ${message(error)}`, 'error'),
    );
  }

  /** Stops listening, ends the tunnels in flight and closes upstream connections. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#tunnels) s.destroy();
    this.#tunnels.clear();
    this.#server.closeAllConnections();
    await Promise.all([closed, this.#dispatcher.destroy()]);
  }
}

function message(error: unknown): string {
  const e = unwrapError(error);
  return e instanceof Error ? e.message : String(e);
}

/** Starts a LocalProxy (see its options). */
export function startLocalProxy(options?: LocalProxyOptions): Promise<LocalProxy> {
  return LocalProxy.start(options);
}
