import { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { destroySoon } from '../../transport/destroy-soon.js';
import { DEFAULT_BODY_REPLAY_LIMIT } from '../../transport/replayable-body.js';
import { errorCode, reportNoRetry, reportRetry } from '../../transport/retry-report.js';
import type { RetryClock } from './dial-retry.js';
import { decideResend, RequestRecord, type Breakage, type InFlight } from './request-record.js';

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
 *
 * When the proxy connection under a request breaks before any byte of its answer was read, an
 * idempotent request whose bytes are all held (request-record.ts) is written again on a new
 * connection from the same opener, as fetch retries (retry-decision.ts), and node:http never sees the
 * failure: states `opening` → `open` → (`broken` → `reopening` → `open`)* → destroyed. A POST, or a
 * request whose answer had begun, fails typed (`failure`) as before.
 */
export class PendingConnection extends Duplex {
  readonly #abort = new AbortController();
  readonly #open: (signal: AbortSignal, clock?: RetryClock) => Promise<Duplex>;
  #inner: SocketLike | undefined;
  /** Counts the connections opened: events of one this connection has moved away from are ignored. */
  #generation = 0;
  #queued: Array<{ chunk: Buffer; callback: (error?: Error | null) => void }> = [];
  #ending: (() => void) | undefined;
  /** node:http ended its side: a connection opened again is ended after the replay. */
  #ended = false;
  /** The latest of each setting, applied to every connection opened (a replacement included). */
  #settings = new Map<string, (s: SocketLike) => void>();
  #timeout = 0;
  readonly #record: RequestRecord;
  /** The attempts of the request in progress, once it has been cut. */
  #clock: { request: InFlight; clock: RetryClock } | undefined;
  /** What the connection was opened for (a proxy route), when the opener says: for error messages. */
  detail: unknown;
  /**
   * How a failure of the connection underneath is reported, when the opener says (a tunnel: the proxy's
   * ProxyConnectionError), for a request that is not sent again (`#broken`).
   */
  failure: ((error: Error) => Error) | undefined;
  /** The proxy (redacted) a request cut in flight may go again through, set by the opener; none: never (DIRECT). */
  resendVia: string | undefined;

  /**
   * `open` opens the connection underneath; called again (with the request's `clock`) to send a cut
   * request again. `replayLimit`: the bytes of a request kept for that (the client's bodyReplayLimit).
   */
  constructor(open: (signal: AbortSignal, clock?: RetryClock) => Promise<Duplex>, replayLimit = DEFAULT_BODY_REPLAY_LIMIT) {
    super({ allowHalfOpen: false });
    this.#open = open;
    this.#record = new RequestRecord(replayLimit);
    this.#connect(undefined, undefined);
  }

  /** The connection underneath, once open. */
  get inner(): Duplex | undefined {
    return this.#inner;
  }

  /** Opens the connection underneath: the first, or (`clock`) a new one for `replay`, the request cut. */
  #connect(clock: RetryClock | undefined, replay: Buffer | undefined, delay = 0): void {
    const generation = ++this.#generation;
    const signal = this.#abort.signal;
    // A throw inside open() becomes its rejection; either way nothing escapes into http.request().
    new Promise<Duplex>((resolve) => resolve(delay > 0 ? sleep(delay, undefined, { signal }).then(() => this.#open(signal, clock)) : this.#open(signal, clock))).then(
      (socket) => this.#ready(socket as SocketLike, generation, replay),
      (error: Error) => generation === this.#generation && this.destroy(error),
    );
  }

  #ready(socket: SocketLike, generation: number, replay: Buffer | undefined): void {
    if (this.destroyed || generation !== this.#generation) {
      socket.destroy();
      return;
    }
    const current = (): boolean => generation === this.#generation && !this.destroyed;
    this.#inner = socket;
    socket.on('data', (data: Buffer) => {
      if (!current()) return;
      this.#record.read(data);
      if (!this.push(data)) socket.pause();
    });
    socket.on('end', () => current() && this.#broken('end'));
    socket.on('timeout', () => current() && this.emit('timeout'));
    socket.on('error', (error: Error) => current() && this.#broken(error));
    socket.on('close', () => current() && this.#broken('close'));
    for (const apply of this.#settings.values()) apply(socket);
    if (replay) socket.write(replay, (error) => error && current() && this.#broken(error));
    for (const { chunk, callback } of this.#queued) socket.write(chunk, (error) => this.#written(error, generation, callback));
    this.#queued = [];
    if (this.#ending) this.#ending();
    else if (this.#ended) socket.end();
    this.#ending = undefined;
    if (replay === undefined) this.emit('connect');
  }

  /**
   * The connection underneath failed (`error`), ended or closed. The request in progress, if its
   * answer has not begun, goes again on a new connection when decideResend says so; otherwise the
   * connection fails as node:http expects, typed by `failure` when the opener gave one.
   */
  #broken(how: Error | 'end' | 'close'): void {
    const request = this.#record.current;
    if ((how instanceof Error || request !== undefined) && this.resendVia !== undefined && this.#resend(request, how instanceof Error ? how : 'closed')) return;
    if (how instanceof Error) {
      this.destroy(this.failure ? this.failure(how) : how);
      return;
    }
    // A request still waiting for its answer, or an answer cut in the middle of its framing: node:http
    // would report an untyped "socket hang up" or "aborted"; it is the connection's failure. (An idle
    // kept-alive connection the proxy closes, or a body that runs to the close, ends as usual.)
    if (this.failure && (request !== undefined || this.#record.answering)) {
      const detail = request !== undefined && !request.answered ? 'the tunnel closed before the answer' : 'the tunnel closed in the middle of the answer';
      this.destroy(this.failure(Object.assign(new Error(detail), { code: 'ECONNRESET' })));
      return;
    }
    if (how === 'end') this.push(null);
    else this.destroy();
  }

  /** Sends the request in progress again on a new connection, when decideResend says so. */
  #resend(request: InFlight | undefined, breakage: Breakage): boolean {
    if (request === undefined || this.#abort.signal.aborted) return false;
    // The budget runs from this first cut, not from the request's first byte (retry-decision.ts).
    if (this.#clock?.request !== request) this.#clock = { request, clock: { firstFailure: performance.now(), attempts: 1 } };
    const { clock } = this.#clock;
    const elapsed = performance.now() - (clock.firstFailure ?? 0);
    const decision = decideResend(request, breakage, clock.attempts, elapsed, Math.random());
    if (!decision.retry) {
      reportNoRetry(request.method ?? '(unknown method)', this.resendVia as string, decision.reason, clock.attempts, elapsed, errorCode(breakage));
      return false;
    }
    reportRetry({ method: request.method as string, proxy: this.resendVia as string, attempt: clock.attempts + 1, reason: decision.reason, delay: decision.delay }, errorCode(breakage));
    const old = this.#inner;
    this.#inner = undefined;
    old?.destroy();
    this.#connect(clock, this.#record.replay(), decision.delay);
    return true;
  }

  /** A write's end on connection `generation`: its failure is that connection's (a request held is sent again). */
  #written(error: Error | null | undefined, generation: number, callback: (error?: Error | null) => void): void {
    if (error && generation === this.#generation && !this.destroyed) this.#broken(error);
    callback();
  }

  #apply(name: string, step: (s: SocketLike) => void): void {
    this.#settings.set(name, step);
    if (this.#inner) step(this.#inner);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#record.wrote(chunk, performance.now());
    const generation = this.#generation;
    if (this.#inner) this.#inner.write(chunk, (error) => this.#written(error, generation, callback));
    else this.#queued.push({ chunk, callback });
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#ended = true;
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
    this.#apply('keepAlive', (s) => s.setKeepAlive?.(enable, delay));
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.#apply('noDelay', (s) => s.setNoDelay?.(noDelay));
    return this;
  }
  /**
   * The idle timeout node:http sets (keep-alive, `req.setTimeout`); the connection's `'timeout'` is relayed.
   * As `net.Socket#setTimeout`: 0 removes the callback it was given, so a kept-alive connection does not
   * gather one listener per request.
   */
  setTimeout(ms: number, callback?: () => void): this {
    this.#timeout = ms;
    this.#apply('timeout', (s) => s.setTimeout?.(ms));
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
    this.#apply('ref', (s) => s.ref?.());
    return this;
  }
  unref(): this {
    this.#apply('ref', (s) => s.unref?.());
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
