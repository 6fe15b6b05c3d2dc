import type { Socket } from 'node:net';
import type { ProxyRoute } from '../config/proxy-config.js';
import { debug } from '../debug.js';
import { ChunkedEnd } from './chunked-end.js';
import { ConnectionAuthState } from './connection-auth-state.js';
import { forwardFailure, ProxyConnectionError } from './errors.js';
import { checkReply, makeLeg } from './exchange-steps.js';
import { ProxyAuthSession, type ProxyAuthOptions } from './proxy-auth-session.js';
import { connectionCloses, ProxyExchange, type ExchangeAction } from './proxy-exchange.js';
import { dialProxy, type DialOptions } from './proxy-socket.js';
import { BodyRecord, DEFAULT_BODY_REPLAY_LIMIT } from './replayable-body.js';
import { SocketFacade } from './socket-facade.js';
import { requestName } from './request-name.js';
import { ResponseHeadParser, type BodyFraming, type ResponseHead } from './response-head.js';

export interface ForwardConnectionOptions extends ProxyAuthOptions, DialOptions {
  /** Bytes of a request body kept to send it again after a 407 (default 4 MiB). */
  bodyReplayLimit?: number;
  /**
   * The origin (`http://host:port`) every request on this connection goes to. node:http writes the
   * request line in origin form, as for a direct request; the line is put in the absolute form a proxy
   * takes here, on the wire, so the agent never has to change a request whose head Node has already
   * rendered (an `Expect` header, headers given as an array).
   */
  origin?: string;
}

const END_OF_HEAD = Buffer.from('\r\n\r\n');
const MAX_REQUEST_HEAD = 64 * 1024;
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)[ \t]*(?=\r\n)/i;
const CHUNKED = /\r\ntransfer-encoding:[^\r]*chunked[ \t]*(?=\r\n)/i;
const EXPECT_CONTINUE = /\r\nexpect:[ \t]*100-continue[ \t]*(?=\r\n)/i;

/** One request as it crosses the connection: its head (as the client wrote it), its body so far, its exchange. */
interface Outgoing {
  method: string;
  /** The head without the final empty line, as the client wrote it (no Proxy-Authorization: ours is added). */
  head: string;
  what: string;
  remaining: number;
  chunked: ChunkedEnd | undefined;
  complete: boolean;
  /** Its body so far, kept to send it again after a 407 (up to the replay limit). */
  record: BodyRecord;
  session: ProxyAuthSession;
  exchange: ProxyExchange;
  /** After a 407 that came before the body was complete: the rest is recorded only, and sent with the replay. */
  held: boolean;
  /** `Expect: 100-continue`: the client may wait for a 100 before it sends the body. */
  expectContinue: boolean;
  whenComplete: (() => void) | undefined;
}

/** What the connection is reading from the proxy: a head, or the body of an answer framed so. */
interface Incoming {
  parser: ResponseHeadParser;
  raw: Buffer[];
  framing: BodyFraming | undefined;
  /** Bytes of 1xx heads already handed to node:http (it emits 'continue' and 'information' for them). */
  interim: number;
  remaining: number;
  chunked: ChunkedEnd | undefined;
  /** The answer is a 407 being answered: its bytes never reach the client. */
  swallow: ResponseHead | undefined;
}

/**
 * The connection a node:http agent hands to a request forwarded to the proxy (absolute form): a Duplex
 * between node:http and the proxy's socket, the node:http binding of the forwarded exchange
 * (proxy-exchange.ts decides, this does the I/O). It applies the proxy auth to each request, which
 * node:http cannot do itself (it renders a request's head synchronously, and a Negotiate token is made
 * asynchronously). It reads the HTTP/1.1 framing node:http writes, so it knows where each request head
 * starts, and the framing of the proxy's answers (the strict reader), so it knows which answer is whose:
 * - each head gets `Proxy-Authorization` when the session wants one (a new connection; every request
 *   to a proxy that authenticates requests; Basic on every request);
 * - a 407 is answered on the same connection (a new one when the proxy closes it, or when the 407 came
 *   before the body was sent) with the request and its recorded body sent again; node:http never sees it;
 * - a reply token on an answer is verified before any of it reaches node:http.
 * Everything else passes through unchanged. node:http sends one request at a time on a connection.
 */
export class ForwardConnection extends SocketFacade {
  readonly #route: ProxyRoute;
  readonly #options: ForwardConnectionOptions;
  readonly #limit: number;
  readonly #abort = new AbortController();
  #socket: Socket;
  /** Counts the sockets attached: events of one this connection has moved away from are ignored. */
  #generation = 0;
  readonly #auth = new ConnectionAuthState();
  #headBuffer = Buffer.alloc(0);
  #out: Outgoing | undefined;
  #in: Incoming | undefined;
  #inbound: Promise<void> = Promise.resolve();
  /** A request has gone out and its final answer has not ended yet. */
  #awaiting = false;
  /** A CONNECT of the client's own was answered 2xx: from here bytes pass through both ways, unread. */
  #tunnel = false;

  private constructor(route: ProxyRoute, options: ForwardConnectionOptions, socket: Socket) {
    super({ allowHalfOpen: false });
    this.#route = route;
    this.#options = options;
    this.#limit = options.bodyReplayLimit ?? DEFAULT_BODY_REPLAY_LIMIT;
    this.#socket = socket;
    this.#attach(socket);
  }

  /** Dials the proxy; the connection is ready for requests once this resolves. */
  static async open(route: ProxyRoute, options: ForwardConnectionOptions): Promise<ForwardConnection> {
    return new ForwardConnection(route, options, await dialProxy(route.proxy, options));
  }

  protected get inner(): Socket {
    return this.#socket;
  }

  #attach(socket: Socket): void {
    const generation = ++this.#generation;
    this.#auth.opened();
    // Events of a socket this connection has moved away from (after a redial) are ignored; each is
    // handled in order with the answer bytes before it.
    const current = (): boolean => generation === this.#generation && !this.destroyed;
    const queue = (step: () => unknown): void => {
      this.#inbound = this.#inbound.then(async () => { if (current()) await step(); }).catch((error: unknown) => this.#fail(error));
    };
    socket.on('data', (data: Buffer) => queue(() => this.#receive(data)));
    socket.on('timeout', () => current() && this.emit('timeout'));
    socket.on('error', (error: Error) => queue(() => this.#fail(error)));
    socket.on('close', () => queue(() => this.#closed()));
    if (this.timeout > 0) socket.setTimeout(this.timeout);
  }

  // --- requests, from node:http ---
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send(chunk).then(() => callback(), (error: unknown) => callback(this.#typed(error)));
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#out?.session.dispose();
    this.#abort.abort(error ?? new Error('the connection was destroyed'));
    this.#socket.destroy();
    callback(error);
  }

  async #send(data: Buffer): Promise<void> {
    if (this.#tunnel) return this.#write(data);
    while (data.length > 0) {
      const out = this.#out;
      if (out === undefined || out.complete) {
        const buffered = this.#headBuffer.length > 0 ? Buffer.concat([this.#headBuffer, data]) : data;
        const end = buffered.indexOf(END_OF_HEAD);
        if (end < 0) {
          if (buffered.length > MAX_REQUEST_HEAD) throw new Error('a request head over 64 KiB');
          this.#headBuffer = Buffer.from(buffered);
          return;
        }
        this.#headBuffer = Buffer.alloc(0);
        data = buffered.subarray(end + 4);
        await this.#startRequest(buffered.toString('latin1', 0, end));
        continue;
      }
      let n: number;
      if (out.chunked) {
        const end = out.chunked.feed(data);
        n = end < 0 ? data.length : end;
        out.complete = end >= 0;
      } else {
        n = Math.min(out.remaining, data.length);
        out.remaining -= n;
        out.complete = out.remaining === 0;
      }
      const part = data.subarray(0, n);
      data = data.subarray(n);
      out.record.add(Buffer.from(part));
      if (!out.held) await this.#write(part);
      if (out.complete) out.whenComplete?.();
    }
  }

  async #startRequest(written: string): Promise<void> {
    const head = this.#absolute(written);
    const space = head.indexOf(' ');
    const method = head.slice(0, space);
    const target = head.slice(space + 1, head.indexOf(' ', space + 1));
    const what = requestName(method, target);
    const length = CONTENT_LENGTH.exec(`${head}\r\n`);
    const chunked = CHUNKED.test(`${head}\r\n`);
    const session = new ProxyAuthSession(this.#route, this.#options);
    const out: Outgoing = {
      method,
      head: head.replace(/\r\nproxy-authorization:[^\r]*(?=\r\n|$)/gi, ''),
      what,
      remaining: length ? Number(length[1]) : 0,
      chunked: chunked ? new ChunkedEnd() : undefined,
      complete: !chunked && !(length && Number(length[1]) > 0),
      record: new BodyRecord(this.#limit),
      session,
      exchange: new ProxyExchange(this.#route, session, this.#auth, what),
      held: false,
      expectContinue: EXPECT_CONTINUE.test(`${head}\r\n`),
      whenComplete: undefined,
    };
    this.#out?.session.dispose(); // the previous request's exchange is over
    this.#out = out;
    this.#in = newIncoming(method);
    this.#awaiting = true;
    await this.#act(out, out.exchange.step({ type: 'start' }));
  }

  /** Does what the request's exchange asks (proxy-exchange.ts), until it waits for the proxy. */
  async #act(out: Outgoing, action: ExchangeAction): Promise<void> {
    for (;;) {
      switch (action.do) {
        case 'token':
        case 'answer':
          action = out.exchange.step(await makeLeg(out.session, action, this.#abort.signal));
          break;
        case 'replay-body':
          if (!out.complete && !out.expectContinue) {
            // The proxy answered before the body was sent: the rest goes with the replay, once it came.
            out.held = true;
            await new Promise<void>((resolve) => (out.whenComplete = resolve));
          }
          action = out.exchange.step({ type: 'body', replayable: !out.record.over, limit: out.record.limit });
          break;
        case 'send': {
          // A new connection when the proxy closes this one, or is behind on it (the 407 came before the
          // body was all sent); with `Expect: 100-continue` the head goes again at once, with what came
          // of the body so far, and the rest follows as it comes.
          if (action.connection === 'new') await this.#redial();
          const head = Buffer.from(withHeader(out.head, action.header), 'latin1');
          if (!action.replay) return this.#write(head);
          debug('proxy %s: %s sent again after a 407', this.#route.proxy.redacted, out.what);
          const replay = this.#write(Buffer.concat([head, ...out.record.chunks]));
          out.held = false; // set with the replay written, so no part of the body can pass it
          return replay;
        }
        case 'fail':
          throw action.error;
        default:
          return;
      }
    }
  }

  /** The request line in absolute form (RFC 9112 §3.2.2) when it came in origin form and the origin is known. */
  #absolute(head: string): string {
    const origin = this.#options.origin;
    const space = head.indexOf(' ');
    if (origin === undefined || head.charCodeAt(space + 1) !== 0x2f /* '/' */) return head;
    return `${head.slice(0, space + 1)}${origin}${head.slice(space + 1)}`;
  }

  #write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  // --- answers, from the proxy ---
  async #receive(data: Buffer): Promise<void> {
    if (this.#tunnel) return this.#deliver(data);
    while (data.length > 0 && !this.destroyed) {
      const inc = this.#in;
      if (!inc) throw new Error('the proxy sent bytes before any request');
      if (inc.framing === undefined) {
        inc.raw.push(data);
        const result = inc.parser.feed(data);
        if (!result) {
          this.#deliverInterim(inc);
          return;
        }
        const raw = Buffer.concat(inc.raw);
        const headBytes = raw.subarray(inc.interim, raw.length - result.rest.length);
        data = result.rest;
        await this.#onHead(inc, result.head, headBytes);
        continue;
      }
      let n: number;
      let done: boolean;
      if (inc.framing.kind === 'chunked') {
        const end = (inc.chunked as ChunkedEnd).feed(data);
        n = end < 0 ? data.length : end;
        done = end >= 0;
      } else if (inc.framing.kind === 'length') {
        n = Math.min(inc.remaining, data.length);
        inc.remaining -= n;
        done = inc.remaining === 0;
      } else {
        n = data.length;
        done = false;
      }
      const part = data.subarray(0, n);
      data = data.subarray(n);
      if (!inc.swallow) this.#deliver(part);
      if (done) await this.#answerEnded();
    }
  }

  /**
   * 1xx answers go to node:http as they come (a `100 Continue` is what a client waiting to send its body
   * needs), not only with the final answer. Those before a 407 go too: the client sees one more 100.
   */
  #deliverInterim(inc: Incoming): void {
    const end = inc.parser.interimLength;
    if (end <= inc.interim) return;
    const raw = Buffer.concat(inc.raw);
    this.#deliver(raw.subarray(inc.interim, end));
    inc.interim = end;
  }

  async #onHead(inc: Incoming, head: ResponseHead, headBytes: Buffer): Promise<void> {
    const out = this.#out as Outgoing;
    inc.framing = head.framing;
    if (head.framing.kind === 'length') inc.remaining = head.framing.length;
    if (head.framing.kind === 'chunked') inc.chunked = new ChunkedEnd();
    const closes = head.framing.kind === 'close' || connectionCloses(head.headers);
    let action = out.exchange.step({ type: 'head', statusCode: head.statusCode, statusText: head.statusText, headers: head.headers, closes, bodySent: out.complete });
    if (action.do === 'fail') throw action.error;
    if (action.do === 'hold') {
      inc.swallow = head;
      // Whatever of the body comes while the 407 is answered waits for the replay.
      if (!out.complete) out.held = true;
    } else {
      if (action.do === 'verify') {
        this.#socket.pause();
        action = out.exchange.step(await checkReply(out.session, head.headers, `its ${head.statusCode} answer to ${out.what}`, this.#auth.verified));
        if (action.do === 'fail') throw action.error;
        this.#socket.resume();
      }
      this.#deliver(headBytes);
      if (head.framing.kind === 'tunnel') {
        // The client's own CONNECT (grpc-js tunnels itself) went through with our Proxy-Authorization:
        // the rest is its tunnel, passed through unread (the bytes after the head in this read too).
        this.#tunnel = true;
        this.#awaiting = false;
        return;
      }
    }
    if (head.framing.kind === 'none' || (head.framing.kind === 'length' && head.framing.length === 0)) await this.#answerEnded();
  }

  async #answerEnded(): Promise<void> {
    const out = this.#out as Outgoing;
    this.#in = newIncoming(out.method);
    const action = out.exchange.step({ type: 'end' });
    if (action.do === 'answer') return this.#act(out, action);
    this.#awaiting = false;
  }

  async #redial(): Promise<void> {
    const old = this.#socket;
    this.#generation++; // the old socket's events are ignored from here on
    this.#auth.closed();
    old.destroy();
    const socket = await dialProxy(this.#route.proxy, this.#options);
    this.#socket = socket;
    this.#attach(socket);
    this.#in = newIncoming((this.#out as Outgoing).method);
  }

  #deliver(data: Buffer): void {
    if (data.length > 0 && !this.push(data)) this.#socket.pause();
  }

  async #closed(): Promise<void> {
    const inc = this.#in;
    if (inc?.framing?.kind === 'close') {
      if (inc.swallow) return this.#answerEnded(); // a 407 whose body ran to the close: answer it on a new connection
      this.push(null);
      return;
    }
    if (this.#awaiting) {
      const action = this.#out?.exchange.step({ type: 'closed' });
      this.#fail(action?.do === 'fail' ? action.error : new ProxyConnectionError(this.#route.proxy, 'the proxy closed the connection in the middle of the exchange', undefined, this.#out?.what));
      return;
    }
    this.push(null);
    this.destroy();
  }

  #typed(error: unknown): Error {
    const e = error instanceof Error ? error : new Error(String(error));
    return forwardFailure(this.#route.proxy, this.#out?.what ?? 'a forwarded request', e);
  }

  #fail(error: unknown): void {
    if (!this.destroyed) this.destroy(this.#typed(error));
  }
}

function newIncoming(method: string): Incoming {
  return { parser: new ResponseHeadParser(method), raw: [], framing: undefined, interim: 0, remaining: 0, chunked: undefined, swallow: undefined };
}

/** The head with `Proxy-Authorization: header` after its request line, and the empty line that ends it. */
function withHeader(head: string, header: string | undefined): string {
  if (header === undefined) return `${head}\r\n\r\n`;
  const eol = head.indexOf('\r\n');
  return eol < 0 ? `${head}\r\nProxy-Authorization: ${header}\r\n\r\n` : `${head.slice(0, eol)}\r\nProxy-Authorization: ${header}${head.slice(eol)}\r\n\r\n`;
}
