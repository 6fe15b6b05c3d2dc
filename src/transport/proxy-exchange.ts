import type { ProxyRoute } from '../config/proxy-config.js';
import { offeredSchemes, parseChallenges } from '../auth/challenge.js';
import type { SentScheme } from '../auth/auth-decision.js';
import type { ConnectionAuthState } from './connection-auth-state.js';
import { ProxyAuthenticationError, ProxyConnectionError, ProxyTunnelError, RequestBodyReplayError, type ProxyHeaderTooLargeError } from './errors.js';
import { basicHeader, needsNegotiateToken } from './proxy-auth-session.js';

type Headers = Record<string, string | readonly string[] | undefined>;

/**
 * At most this many 407s answered in one exchange, legs of a multi-leg handshake included. Negotiate's
 * own bound (MAX_AUTH_RETRIES, auth-decision.ts) ends it sooner; this one ends a handshake whose legs
 * never finish (a proxy that answers every NTLM type 3 with another challenge).
 */
export const MAX_LEGS = 4;

/** Whether an answer's `Connection` field closes the connection after it (RFC 9112 §9.6). */
export function connectionCloses(headers: Headers): boolean {
  const value = headers.connection;
  if (value === undefined) return false;
  return /(^|,)\s*close\s*(,|$)/i.test(typeof value === 'string' ? value : value.join(','));
}

/** What the exchange asks of the request's auth session, all synchronous (ProxyAuthSession is one). */
export interface ExchangeAuth {
  readonly sent: SentScheme;
  sentWith(header: string | undefined): void;
  mustVerify(headers: Headers, verifiedConnection: boolean): boolean;
  refusedForSize(statusCode: number, statusText: string, what: () => string, forwarded?: Record<string, unknown>): ProxyHeaderTooLargeError | undefined;
}

/** What happened, as a binding reports it. */
export type ExchangeEvent =
  /** The request is about to go on the connection. */
  | { type: 'start' }
  /**
   * The token asked for is made: the first one (`preAuth`), or the leg answering a 407's challenge.
   * `sameConnection`: the leg belongs to the connection that carried the challenge (NTLM's type 3
   * after its type 2, a Negotiate continuation token: an authenticator's `step`), so it goes on that
   * connection or not at all. A fresh Negotiate token or Basic goes on any connection.
   */
  | { type: 'token'; header: string | undefined; sameConnection?: boolean }
  /**
   * The request is going out now, on the connection current at this moment: from a binding whose
   * transport may have redialled by itself (undici's Client), so a leg bound to its connection is
   * never carried by another.
   */
  | { type: 'written' }
  | { type: 'token-failed'; error: unknown }
  /**
   * An answer's head. `closes`: the proxy will not keep the connection after it (Connection: close, or a
   * body that runs to the close). `bodySent`: the request's body had all gone out when it came.
   */
  | { type: 'head'; statusCode: number; statusText: string; headers: Headers; closes: boolean; bodySent: boolean }
  /** The answer's body is over (a held 407's, or one being delivered). */
  | { type: 'end' }
  /** The body is ready for another send, or cannot be sent again (more than `limit` bytes streamed). */
  | { type: 'body'; replayable: boolean; limit: number }
  | { type: 'verified'; ok: boolean }
  | { type: 'verify-failed'; error: unknown }
  /** The connection closed under the exchange, unasked. */
  | { type: 'closed' }
  /** The binding failed (an I/O error, an abort): the exchange is over; later events are ignored. */
  | { type: 'failed'; error: unknown };

/** What the binding does next. */
export type ExchangeAction =
  /** Make the first token (the session's `preAuth`), then report `token`. */
  | { do: 'token' }
  /** Make the leg answering this 407 (the session's `answer407`), then report `token`. */
  | { do: 'answer'; challenges: readonly string[]; onAuthenticatedConnection: boolean }
  /** Send the request with this `Proxy-Authorization` (none when undefined); `connection: 'new'` after redialling. */
  | { do: 'send'; header: string | undefined; replay: boolean; connection: 'same' | 'new' }
  /** Get the body ready for another send, then report `body`. */
  | { do: 'replay-body' }
  /** The answer is a 407 being answered: read its body and drop it (nothing of it reaches the caller), then report `end`. */
  | { do: 'hold' }
  /** Hold the answer, verify its reply token (the session's `verify`), then report `verified` or `verify-failed`. */
  | { do: 'verify' }
  /** Pass the answer on to the caller. */
  | { do: 'deliver' }
  /** The answer is over: pass its end on (after a `verify`, once `deliver` came). */
  | { do: 'finish' }
  | { do: 'fail'; error: unknown }
  | { do: 'nothing' };

type Phase = 'new' | 'first-token' | 'sent' | 'held' | 'answering' | 'replaying' | 'verifying' | 'delivering' | 'done';

// The actions without data, made once: the exchange runs on every forwarded request.
const NOTHING: ExchangeAction = { do: 'nothing' };
const TOKEN: ExchangeAction = { do: 'token' };
const REPLAY_BODY: ExchangeAction = { do: 'replay-body' };
const HOLD: ExchangeAction = { do: 'hold' };
const VERIFY: ExchangeAction = { do: 'verify' };
const DELIVER: ExchangeAction = { do: 'deliver' };
const FINISH: ExchangeAction = { do: 'finish' };

/**
 * The forwarded proxy exchange of one request (or one CONNECT), as a pure state machine: events in,
 * actions out, no I/O. It decides what the request carries up front, holds a 407 and has it answered
 * (a fresh token or the next leg of a multi-leg handshake, at most MAX_LEGS), has the request sent
 * again (on the same connection or a new one, body replayed), holds an answer whose reply token must
 * verify (mutual auth), and delivers the rest. The bindings (the undici handler, the node:http wire
 * facade, the CONNECT loop) do the I/O each action names and report what came of it, the way undici's
 * RetryHandler keeps the retry decisions in one place and lets the dispatch do the sending.
 * The connection's own facts (authenticated, verified, which connection it is) are in `connection`,
 * which outlives the request on a kept-alive connection.
 */
export class ProxyExchange {
  readonly #route: ProxyRoute;
  readonly #auth: ExchangeAuth;
  readonly #connection: ConnectionAuthState;
  /** The request's name for errors, or what makes it (a URL parse, needed only on a failure). */
  #what: string | (() => string);
  /** A CONNECT's authority: then any final answer but a 2xx is a refusal of the tunnel. */
  readonly #authority: string | undefined;
  #phase: Phase = 'new';
  /** 407s answered so far (MAX_LEGS). */
  #answers = 0;
  /** The connection the request went on without a token, because that connection was authenticated. */
  #onAuthenticated: number | undefined;
  // The 407 being answered: its challenges, whether its connection closes after it, whether the body
  // had all gone when it came, the connection it came on; then the header of its answer, and whether
  // that answer is a leg bound to that connection.
  #challenges: readonly string[] = [];
  #closes = false;
  #bodySent = true;
  #legConnection = 0;
  #header: string | undefined;
  #bound = false;
  /** The answer ended while its reply token was being verified. */
  #ended = false;

  constructor(route: ProxyRoute, auth: ExchangeAuth, connection: ConnectionAuthState, what: string | (() => string), connect?: { authority: string }) {
    this.#route = route;
    this.#auth = auth;
    this.#connection = connection;
    this.#what = what;
    this.#authority = connect?.authority;
  }

  /** The request as errors name it: method and origin (request-name.ts). */
  get what(): string {
    if (typeof this.#what === 'function') this.#what = this.#what();
    return this.#what;
  }

  /** Whether the exchange is over (delivered to its end, or failed). */
  get done(): boolean {
    return this.#phase === 'done';
  }

  step(event: ExchangeEvent): ExchangeAction {
    if (this.#phase === 'done') return NOTHING;
    switch (event.type) {
      case 'start':
        return this.#start();
      case 'token':
        return this.#token(event.header, event.sameConnection === true);
      case 'written':
        return this.#bound && !this.#connection.same(this.#legConnection) ? this.#failLeg() : NOTHING;
      case 'head':
        return this.#head(event);
      case 'end':
        return this.#end();
      case 'body':
        return this.#body(event.replayable, event.limit);
      case 'verified':
        return this.#verified(event.ok);
      case 'closed':
        if (this.#phase === 'new') return NOTHING;
        return this.#fail(new ProxyConnectionError(this.#route.proxy, 'the proxy closed the connection in the middle of the exchange', undefined, this.what));
      case 'token-failed':
      case 'verify-failed':
      case 'failed':
        return this.#fail(event.error);
    }
  }

  #start(): ExchangeAction {
    if (this.#phase !== 'new') return NOTHING;
    const connection = this.#connection;
    if (needsNegotiateToken(this.#route, connection.authenticated)) {
      this.#phase = 'first-token';
      return TOKEN;
    }
    // A connection NTLM (or Negotiate) authenticated carries the request as it is: no Basic beside it.
    const basic = connection.authenticated ? undefined : basicHeader(this.#route);
    this.#auth.sentWith(basic);
    // Sent without a token on a connection Negotiate authenticated: a 407 to it teaches the proxy's kind.
    if (basic === undefined && this.#route.auth === 'negotiate') this.#onAuthenticated = connection.generation;
    this.#phase = 'sent';
    return { do: 'send', header: basic, replay: false, connection: 'same' };
  }

  #token(header: string | undefined, sameConnection: boolean): ExchangeAction {
    if (this.#phase !== 'first-token' && this.#phase !== 'answering') return NOTHING;
    // What the attempt carries decides how its answer is read (a reply token, a refusal for size).
    this.#auth.sentWith(header);
    if (this.#phase === 'first-token') {
      this.#phase = 'sent';
      return { do: 'send', header, replay: false, connection: 'same' };
    }
    if (sameConnection && (this.#closes || !this.#bodySent || !this.#connection.same(this.#legConnection))) return this.#failLeg();
    this.#bound = sameConnection;
    this.#header = header;
    this.#phase = 'replaying';
    return REPLAY_BODY;
  }

  #failLeg(): ExchangeAction {
    return this.#fail(new ProxyAuthenticationError(
      this.#route.proxy,
      this.#offered(),
      'the proxy did not keep the connection between the legs of its handshake (NTLM, or a Negotiate continuation), which must stay on one connection',
    ));
  }

  #head(e: Extract<ExchangeEvent, { type: 'head' }>): ExchangeAction {
    if (this.#phase !== 'sent') return NOTHING;
    if (e.statusCode === 407) {
      const value = e.headers['proxy-authenticate'];
      this.#challenges = value === undefined ? [] : typeof value === 'string' ? [value] : value;
      if (this.#answers >= MAX_LEGS) {
        return this.#fail(new ProxyAuthenticationError(this.#route.proxy, this.#offered(), `still refused after ${this.#answers + 1} attempts (the handshake did not end within ${MAX_LEGS} legs)`));
      }
      // A CONNECT's 407 is not read (its framing is the proxy's to get wrong): its connection is closed,
      // except in an NTLM handshake, whose next leg goes on this connection (the binding reads the body).
      this.#closes = e.closes || (this.#authority !== undefined && this.#auth.sent !== 'ntlm');
      this.#bodySent = e.bodySent;
      this.#legConnection = this.#connection.generation;
      this.#phase = 'held';
      return HOLD;
    }
    // The proxy refused the head's size, which our token made large: an error, not the answer.
    const tooLarge = this.#auth.refusedForSize(e.statusCode, e.statusText, () => this.what, this.#authority === undefined ? e.headers : undefined);
    if (tooLarge) return this.#fail(tooLarge);
    if (this.#authority !== undefined && (e.statusCode < 200 || e.statusCode >= 300)) {
      return this.#fail(new ProxyTunnelError(this.#route.proxy, this.#authority, `the proxy answered ${e.statusCode} ${e.statusText}`.trim(), e.statusCode));
    }
    if (e.statusCode < 200) return DELIVER; // an interim answer; the final one follows
    if (this.#auth.sent === 'negotiate' || this.#auth.sent === 'ntlm') this.#connection.markAuthenticated();
    if (this.#auth.mustVerify(e.headers, this.#connection.verified)) {
      // Nothing of the answer reaches the caller before the proxy has proved itself.
      this.#phase = 'verifying';
      return VERIFY;
    }
    this.#phase = 'delivering';
    return DELIVER;
  }

  #end(): ExchangeAction {
    switch (this.#phase) {
      case 'held': {
        const at = this.#onAuthenticated;
        this.#onAuthenticated = undefined;
        this.#phase = 'answering';
        return { do: 'answer', challenges: this.#challenges, onAuthenticatedConnection: at !== undefined && this.#connection.same(at) };
      }
      case 'verifying':
        // The binding keeps the end behind the held answer; the exchange ends with `verified`.
        this.#ended = true;
        return FINISH;
      case 'delivering':
        this.#phase = 'done';
        return FINISH;
      default:
        return NOTHING;
    }
  }

  #body(replayable: boolean, limit: number): ExchangeAction {
    if (this.#phase !== 'replaying') return NOTHING;
    if (!replayable) return this.#fail(new RequestBodyReplayError(this.#route.proxy, this.what, limit));
    this.#answers++;
    this.#phase = 'sent';
    const connection = this.#closes || !this.#bodySent ? 'new' : 'same';
    return { do: 'send', header: this.#header, replay: true, connection };
  }

  #verified(ok: boolean): ExchangeAction {
    if (this.#phase !== 'verifying') return NOTHING;
    if (ok) this.#connection.markVerified();
    this.#phase = this.#ended ? 'done' : 'delivering';
    return DELIVER;
  }

  #fail(error: unknown): ExchangeAction {
    this.#phase = 'done';
    return { do: 'fail', error };
  }

  #offered(): string[] {
    return offeredSchemes(parseChallenges(this.#challenges));
  }
}
