import { Duplex } from 'node:stream';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { destroySoon } from '../../transport/destroy-soon.js';

/** The socket methods node:http and its Agent call, applied to the connection once it exists. */
type SocketLike = Duplex & {
  setKeepAlive?(enable?: boolean, delay?: number): unknown;
  setNoDelay?(noDelay?: boolean): unknown;
  setTimeout?(ms: number): unknown;
  ref?(): unknown;
  unref?(): unknown;
  remoteAddress?: string;
  remotePort?: number;
  localAddress?: string;
  localPort?: number;
};

/**
 * The socket a route agent hands node:http at once, for a connection that takes time to open (dial
 * the proxy, a Kerberos token, CONNECT, TLS with the origin). Handing one over synchronously is what
 * keeps the Agent's own bookkeeping true without touching it: Node counts the socket against
 * `maxSockets`/`maxTotalSockets` from this moment, queues the requests beyond the limit, and when the
 * connection fails the socket's `'error'`/`'close'` fail its request and free the slot as for a
 * refused TCP connect. node:http writes the request into it meanwhile; the bytes wait here.
 *
 * Destroying it (`req.destroy()`, `agent.destroy()`, a request timeout) aborts the opening through the
 * signal `open` receives, so the wait for a token or a CONNECT ends at once, with no timer polling the
 * request. (agent-base reaches the same end by placing a fake socket in `agent.sockets`; this is the
 * same idea with Node's Agent left alone.)
 */
export class PendingConnection extends Duplex {
  readonly #abort = new AbortController();
  #inner: SocketLike | undefined;
  #queued: Array<{ chunk: Buffer; callback: (error?: Error | null) => void }> = [];
  #ending: (() => void) | undefined;
  #settings: Array<(s: SocketLike) => void> = [];
  #timeout = 0;
  /** Bytes were written and none have been read since: a request waits for its answer. */
  #unanswered = false;
  /** What the connection was opened for (a proxy route), when the opener says: for error messages. */
  detail: unknown;
  /**
   * How a failure of the connection underneath is reported, when the opener says (a tunnel: the proxy's
   * ProxyConnectionError). A request cut this way is not sent again: node:http's caller wrote its body.
   */
  failure: ((error: Error) => Error) | undefined;

  constructor(open: (signal: AbortSignal) => Promise<Duplex>) {
    super({ allowHalfOpen: false });
    // A throw inside open() becomes its rejection; either way nothing escapes into http.request().
    new Promise<Duplex>((resolve) => resolve(open(this.#abort.signal))).then(
      (socket) => this.#ready(socket as SocketLike),
      (error: Error) => this.destroy(error),
    );
  }

  /** The connection underneath, once open. */
  get inner(): Duplex | undefined {
    return this.#inner;
  }

  #ready(socket: SocketLike): void {
    if (this.destroyed) {
      socket.destroy();
      return;
    }
    this.#inner = socket;
    socket.on('data', (data: Buffer) => {
      this.#unanswered = false;
      if (!this.push(data)) socket.pause();
    });
    socket.on('end', () => {
      // The tunnel ended after bytes went out and before any came back: a request is waiting for an
      // answer that cannot come, which node:http would report as an untyped "socket hang up". It is the
      // connection's failure. (An idle kept-alive tunnel the proxy closes ends as usual.)
      if (this.failure && this.#unanswered) this.destroy(this.failure(Object.assign(new Error('the tunnel closed before the answer'), { code: 'ECONNRESET' })));
      else this.push(null);
    });
    socket.on('timeout', () => this.emit('timeout'));
    socket.on('error', (error: Error) => this.destroy(this.failure ? this.failure(error) : error));
    socket.on('close', () => this.destroy());
    for (const apply of this.#settings) apply(socket);
    this.#settings = [];
    for (const { chunk, callback } of this.#queued) socket.write(chunk, (error) => callback(error ?? null));
    this.#queued = [];
    this.#ending?.();
    this.emit('connect');
  }

  #apply(step: (s: SocketLike) => void): void {
    if (this.#inner) step(this.#inner);
    else this.#settings.push(step);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#unanswered = true;
    if (this.#inner) this.#inner.write(chunk, (error) => callback(error ?? null));
    else this.#queued.push({ chunk, callback });
  }

  override _final(callback: (error?: Error | null) => void): void {
    const end = (): void => {
      this.#inner?.end();
      callback();
    };
    if (this.#inner) end();
    else this.#ending = end;
  }

  override _read(): void {
    this.#inner?.resume();
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#abort.abort(error ?? new Error('the request was destroyed while its connection was being opened'));
    this.#inner?.destroy();
    for (const { callback: cb } of this.#queued) cb(error ?? null);
    this.#queued = [];
    callback(error);
  }

  setKeepAlive(enable?: boolean, delay?: number): this {
    this.#apply((s) => s.setKeepAlive?.(enable, delay));
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.#apply((s) => s.setNoDelay?.(noDelay));
    return this;
  }
  /**
   * The idle timeout node:http sets (keep-alive, `req.setTimeout`); the connection's `'timeout'` is relayed.
   * As `net.Socket#setTimeout`: 0 removes the callback it was given, so a kept-alive connection does not
   * gather one listener per request.
   */
  setTimeout(ms: number, callback?: () => void): this {
    this.#timeout = ms;
    this.#apply((s) => s.setTimeout?.(ms));
    if (callback) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    return this;
  }
  get timeout(): number {
    return this.#timeout;
  }
  ref(): this {
    this.#apply((s) => s.ref?.());
    return this;
  }
  unref(): this {
    this.#apply((s) => s.unref?.());
    return this;
  }
  destroySoon(): void {
    destroySoon(this);
  }
  get remoteAddress(): string | undefined {
    return this.#inner?.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.#inner?.remotePort;
  }
  get localAddress(): string | undefined {
    return this.#inner?.localAddress;
  }
  get localPort(): number | undefined {
    return this.#inner?.localPort;
  }
  // Read by progress reporting (got's upload/download progress): the connection's own counters.
  get bytesWritten(): number {
    return (this.#inner as { bytesWritten?: number } | undefined)?.bytesWritten ?? 0;
  }
  get bytesRead(): number {
    return (this.#inner as { bytesRead?: number } | undefined)?.bytesRead ?? 0;
  }
  address(): object {
    const inner = this.#inner as { address?: () => object } | undefined;
    return inner?.address ? inner.address() : {};
  }
  // The TLS surface callers read off `res.socket` (certificate pinning, ALPN): the origin's, through a tunnel.
  get encrypted(): boolean | undefined {
    return (this.#inner as Partial<TLSSocket> | undefined)?.encrypted;
  }
  get authorized(): boolean | undefined {
    return (this.#inner as Partial<TLSSocket> | undefined)?.authorized;
  }
  get alpnProtocol(): string | false | null | undefined {
    return (this.#inner as Partial<TLSSocket> | undefined)?.alpnProtocol;
  }
  getPeerCertificate(detailed?: boolean): PeerCertificate | object | null {
    const tls = this.#inner as Partial<TLSSocket> | undefined;
    return tls?.getPeerCertificate ? tls.getPeerCertificate(detailed as true) : null;
  }
}
