import { ChunkedEnd } from '../../transport/chunked-end.js';
import { ProxyConnectionError } from '../../transport/errors.js';
import { connectionFailure, decideRetry, idempotent, type RetryDecision } from '../../transport/retry-decision.js';

/** The request on a node:http connection that has not had its final status line yet. */
export interface InFlight {
  /** Its method, read from its request line; undefined when the first bytes were not one. */
  readonly method: string | undefined;
  /** performance.now() of its first byte written. */
  readonly began: number;
  /** Every byte of it written so far is still held (not past the limit). */
  readonly held: boolean;
  /** A byte was read since it began (an interim answer included): it is not sent again. */
  readonly answered: boolean;
}

/** Longest status or header line scanned for the end of an interim answer; past it the request counts as answered. */
const MAX_LINE = 16 * 1024;

/**
 * What a node:http connection knows of its request from the bytes alone, to send it again when the
 * proxy connection under it dies before any byte of its answer (pending-connection.ts). node:http
 * sends one request at a time and writes the next only after the previous answer ended, so:
 * - a request begins with the first byte written while none is in progress;
 * - it ends when a final status line has been read for it: not 1xx, except 101. After a 101, or a
 *   2xx to a CONNECT, the connection carries something else: nothing more is recorded or read. An interim answer (`100 Continue`) does not end it, so a body written
 *   after it is the same request's, not a new one;
 * - its bytes are kept up to `limit` (the client's bodyReplayLimit); past it they are dropped;
 * - its answer's framing (Content-Length, chunked) is followed to its end, so a connection that ends
 *   in the middle of it is told from one that ends after it (`answering`). A body that runs to the
 *   close is never "in the middle"; bytes written meanwhile (a body the origin answered early) start
 *   no request.
 * Pure: PendingConnection feeds it the bytes and acts on `decideResend`.
 */
export class RequestRecord {
  readonly #limit: number;
  #current: { method: string | undefined; began: number; held: boolean; answered: boolean } | undefined;
  #chunks: Buffer[] = [];
  #bytes = 0;
  /** The answer's line being read: a status line, an interim answer's headers, the final one's; and its bytes so far. */
  #state: 'status' | 'interim' | 'headers' = 'status';
  #line = '';
  #status = 0;
  #length: number | undefined;
  #chunked = false;
  #noBody = false;
  /** Upgraded (101) or a tunnel (2xx to CONNECT): the bytes are no longer HTTP. */
  #passthrough = false;
  /** The final answer's body still to come: its bytes left, or its chunked end; undefined when none is framed. */
  #body: { remaining: number } | ChunkedEnd | undefined;

  /** A final answer's head or framed body is being read: the connection ending now cuts it. */
  get answering(): boolean {
    return this.#current === undefined && (this.#state === 'headers' || this.#body !== undefined);
  }

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The request in progress, if any. */
  get current(): InFlight | undefined {
    return this.#current;
  }

  /** Bytes node:http wrote; `now` is performance.now(). */
  wrote(chunk: Buffer, now: number): void {
    if (this.#passthrough || this.answering) return;
    if (this.#current === undefined) {
      this.#current = { method: methodOf(chunk), began: now, held: true, answered: false };
      this.#state = 'status';
      this.#line = '';
    }
    const current = this.#current;
    if (!current.held) return;
    if (this.#bytes + chunk.length > this.#limit) {
      current.held = false;
      this.#chunks = [];
      this.#bytes = 0;
      return;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
  }

  /** Bytes read from the connection. */
  read(data: Buffer): void {
    if (this.#current !== undefined) this.#current.answered = true;
    else if (!this.answering) return;
    let from = 0;
    while (from < data.length) {
      if (this.#body !== undefined) {
        this.#readBody(data.subarray(from));
        return;
      }
      const eol = data.indexOf(0x0a, from);
      this.#line += data.toString('latin1', from, eol < 0 ? data.length : eol);
      if (eol < 0) {
        if (this.#line.length > MAX_LINE) {
          this.#end();
          this.#stop();
        }
        return;
      }
      from = eol + 1;
      const line = this.#line.endsWith('\r') ? this.#line.slice(0, -1) : this.#line;
      this.#line = '';
      if (this.#state === 'interim') {
        if (line === '') this.#state = 'status';
      } else if (this.#state === 'status') {
        const status = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(line);
        this.#status = Number(status?.[1] ?? 0);
        if (this.#status >= 100 && this.#status < 200 && this.#status !== 101) {
          this.#state = 'interim';
          continue;
        }
        // A final status line, or something that is no answer at all: either way the request is over.
        const method = (this.#current as { method: string | undefined }).method;
        this.#end();
        this.#passthrough = this.#status === 101 || (method === 'CONNECT' && this.#status >= 200 && this.#status < 300);
        if (status === null || this.#passthrough) return this.#stop();
        this.#state = 'headers';
        this.#length = undefined;
        this.#chunked = false;
        // No body after the head, whatever it says (RFC 9112 §6.3): HEAD, 204, 304.
        this.#noBody = method === 'HEAD' || this.#status === 204 || this.#status === 304;
      } else if (line !== '') {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim().toLowerCase();
        if (name === 'content-length' && this.#length === undefined && /^\d+$/.test(value)) this.#length = Number(value);
        if (name === 'transfer-encoding') this.#chunked = value.endsWith('chunked');
      } else {
        // The head's end: a framed body is followed; one that runs to the close is not.
        if (this.#noBody) this.#body = undefined;
        else this.#body = this.#chunked ? new ChunkedEnd() : this.#length !== undefined && this.#length > 0 ? { remaining: this.#length } : undefined;
        this.#state = 'status';
        if (this.#body === undefined) return;
      }
    }
  }

  #readBody(data: Buffer): void {
    const body = this.#body;
    if (body instanceof ChunkedEnd) {
      let end: number;
      try {
        end = body.feed(data);
      } catch {
        end = 0; // node:http fails on it; nothing more is followed
      }
      if (end >= 0) this.#body = undefined;
    } else if (body !== undefined) {
      body.remaining -= Math.min(body.remaining, data.length);
      if (body.remaining === 0) this.#body = undefined;
    }
  }

  /** Follows nothing more of this answer. */
  #stop(): void {
    this.#state = 'status';
    this.#body = undefined;
  }

  /** Every byte of the request in progress, to write on a new connection (only when `current.held`). */
  replay(): Buffer {
    return Buffer.concat(this.#chunks, this.#bytes);
  }

  #end(): void {
    this.#current = undefined;
    this.#line = '';
    this.#chunks = [];
    this.#bytes = 0;
  }
}

/** The method of a request line at the start of `chunk` (node:http writes a head in one piece). */
function methodOf(chunk: Buffer): string | undefined {
  const m = /^([A-Z]{1,16}) \S/.exec(chunk.toString('latin1', 0, Math.min(chunk.length, 24)));
  return m?.[1];
}

/** How the connection under a request failed: its error, or a close ('end' or 'close') without one. */
export type Breakage = Error | 'closed';

export type ResendDecision = RetryDecision | { retry: false; reason: 'no-request' | 'unknown-method' };

const CLOSED = Object.assign(new Error('the proxy connection closed'), { code: 'ECONNRESET' });

/**
 * Whether the request in progress goes again on a new connection after the one under it broke, by the
 * same rule as fetch (retry-decision.ts): no byte of its answer read, idempotent, every byte held,
 * within the attempts and budget. A request whose bytes may have reached the proxy is sent twice only
 * when idempotent, whatever the failure: a POST is never resent here. A ProxyConnectionError without
 * a cause is a forwarded connection's own "closed in the middle of the exchange".
 */
export function decideResend(request: InFlight | undefined, breakage: Breakage, attempt: number, elapsed: number, jitter: number): ResendDecision {
  if (request === undefined) return { retry: false, reason: 'no-request' };
  if (request.method === undefined) return { retry: false, reason: 'unknown-method' };
  if (!idempotent(request.method)) return { retry: false, reason: 'not-idempotent' };
  const closed = breakage === 'closed' || (connectionFailure(breakage) === undefined && breakage instanceof ProxyConnectionError && breakage.cause === undefined);
  return decideRetry(request.method, request.held, closed ? CLOSED : breakage, request.answered, attempt, elapsed, jitter);
}
