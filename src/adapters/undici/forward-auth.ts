import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ProxyRoute } from '../../config/proxy-config.js';
import { forwardFailure, RequestBodyReplayError } from '../../transport/errors.js';
import { basicHeader, needsNegotiateToken, ProxyAuthSession, type ProxyAuthOptions } from '../../transport/proxy-auth-session.js';
import { requestName } from '../../transport/request-name.js';
import { ReplayableBody, ReplayLimitExceeded } from '../../transport/replayable-body.js';
import { ConnectionAuthState } from '../../transport/connection-auth-state.js';
import type { HeadBound } from '../../transport/head-bound.js';
import { replaceHeader } from './headers.js';
import { StableController } from './stable-controller.js';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;

/** What the forward interceptor needs besides the route: the auth options and the bounds in force. */
export interface ForwardOptions extends ProxyAuthOptions {
  /** The response-header and body-gap bounds of the pool (ms), named in timeout errors. */
  timeouts: { headers: number; body: number };
  /** Bytes of a streamed body kept to send it again after a 407 (see replayable-body.ts). */
  bodyReplayLimit: number;
}

type Headers = Record<string, string | string[] | undefined>;

/** What a ConnectionState needs of its connection: its public connect events, and a way to say it is free. */
interface Connection {
  on(event: 'connect' | 'disconnect', listener: () => void): unknown;
  drained(): void;
}

/**
 * What one pooled connection knows of itself (a Client has one socket): its proxy-auth state, fed from
 * the connection's public `connect`/`disconnect` events.
 */
class ConnectionState extends ConnectionAuthState {
  readonly #connection: Connection;
  /** HEAD_LIMITS on the answers, which undici's parser reads (see head-bound.ts). */
  readonly heads: HeadBound | undefined;

  constructor(connection: Connection, heads?: HeadBound) {
    super();
    this.#connection = connection;
    this.heads = heads;
    connection.on('connect', () => this.opened());
    connection.on('disconnect', () => this.closed());
  }

  /**
   * The interceptor told the pool this connection was busy while a request waited for its token; when
   * that request then never reaches the Client (aborted, failed), or the Client took it and is not
   * busy, the Client will not say it is free again, so the connection (a ForwardClient) does.
   */
  release(): void {
    this.#connection.drained();
  }
}

/**
 * One request forwarded to the proxy in absolute form, with its ProxyAuthSession:
 * - the token goes up front when the connection is not authenticated yet, or on every request once the
 *   proxy is known to authenticate requests; on a Squid connection already authenticated, nothing is
 *   added and nothing waits;
 * - a 407 is not passed on but answered (fresh token, or Basic when that is all the proxy takes) and
 *   the request sent again on the same Client (kept alive), body included (replayable-body.ts), at
 *   most MAX_AUTH_RETRIES times; then a ProxyAuthenticationError saying what the proxy offered;
 * - a reply token on the answer is verified before the answer is delivered (ProxyMutualAuthError).
 * Every failure reaches the caller as a JaatoProxyError naming the proxy (undici's own error as its
 * cause): a stalled answer is a ProxyTimeoutError, a broken connection a ProxyConnectionError. Never a
 * bare 407, which fetch turns into an empty "fetch failed".
 */
class ForwardAuthHandler implements Handler {
  readonly #handler: Handler;
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #route: ProxyRoute;
  readonly #options: ForwardOptions;
  readonly #state: ConnectionState;
  readonly #session: ProxyAuthSession;
  readonly #body: ReplayableBody<Dispatcher.DispatchOptions['body']>;
  readonly #controller = new StableController();
  #started = false;
  #done = false;
  /** The connection the last attempt went on, when it went without a token on an authenticated one. */
  #onAuthenticated: number | undefined;
  #pending407: string[] | undefined;
  /** Callbacks held while the answer's reply token is verified. */
  #held: Array<() => void> | undefined;

  constructor(route: ProxyRoute, options: ForwardOptions, state: ConnectionState, opts: Dispatcher.DispatchOptions, handler: Handler, dispatch: Dispatcher.Dispatch) {
    this.#handler = handler;
    this.#dispatch = dispatch;
    this.#opts = opts;
    this.#route = route;
    this.#options = options;
    this.#state = state;
    this.#session = new ProxyAuthSession(route, options);
    this.#body = new ReplayableBody(opts.body, options.bodyReplayLimit);
  }

  /** Sends at once, with the route's static header (Basic) or none: no token is needed. */
  sendNow(basic: string | undefined): boolean {
    this.#session.sentWith(basic);
    if (basic === undefined) this.#onAuthenticated = this.#state.generation;
    return this.#send(basic, this.#body.first());
  }

  /**
   * Makes the token, then sends. The caller's handler gets the controller at once, so an abort ends
   * the wait for the token at once too.
   */
  sendWithToken(): void {
    const abort = new AbortController();
    this.#controller.between = true;
    this.#controller.onAbortBetweenAttempts = (reason) => {
      abort.abort(reason);
      this.#fail(reason);
    };
    this.#started = true;
    this.#handler.onRequestStart?.(this.#controller, {});
    this.#session.preAuth(abort.signal).then(
      (header) => {
        if (this.#done) return this.#state.release();
        // A Client that takes the request without becoming busy will not announce it is free: say so.
        if (this.#send(header, this.#body.first())) this.#state.release();
      },
      (error: unknown) => {
        this.#fail(error);
        this.#state.release();
      },
    );
  }

  #send(header: string | undefined, body: unknown): boolean {
    let opts = this.#opts;
    if (header !== undefined || this.#body.streamed) {
      opts = { ...opts, body: body as Dispatcher.DispatchOptions['body'] };
      if (header !== undefined) opts.headers = replaceHeader(this.#opts.headers, 'proxy-authorization', header);
    }
    return this.#dispatch(opts, this);
  }

  onRequestStart(controller: Controller, context: unknown): void {
    // undici starts a request on a connection once the previous answer is over: what comes next is ours.
    this.#state.heads?.expect();
    this.#controller.current = controller;
    if (this.#started) return;
    this.#started = true;
    this.#handler.onRequestStart?.(this.#controller, context);
  }

  onRequestUpgrade(_c: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, headers, socket);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    if (statusCode === 407) {
      const value = headers['proxy-authenticate'];
      this.#pending407 = value === undefined ? [] : Array.isArray(value) ? value : [value];
      return;
    }
    // The proxy refused the head's size, which our token made large: an error, not the answer.
    const tooLarge = this.#session.refusedForSize(statusCode, statusMessage ?? '', this.#what(), headers);
    if (tooLarge) {
      this.#fail(tooLarge);
      controller.abort(tooLarge);
      return;
    }
    const state = this.#state;
    if (this.#session.sent === 'negotiate' && statusCode >= 200) state.markAuthenticated();
    if (statusCode < 200 || !this.#session.mustVerify(headers, state.verified)) {
      this.#handler.onResponseStart?.(this.#controller, statusCode, headers, statusMessage);
      return;
    }
    // Hold the answer until the proxy has proved itself; nothing of it reaches the caller before.
    this.#held = [];
    controller.pause();
    this.#session.verify(headers, `its ${statusCode} answer to ${this.#what()}`, state.verified).then(
      (verified) => {
        if (verified) state.markVerified();
        const held = this.#held ?? [];
        this.#held = undefined;
        this.#handler.onResponseStart?.(this.#controller, statusCode, headers, statusMessage);
        for (const call of held) call();
        if (!this.#done) this.#controller.resume();
      },
      (error: unknown) => {
        this.#held = undefined;
        this.#fail(error);
        controller.abort(error as Error); // never reuse a connection to a proxy that failed to prove itself
      },
    );
  }

  onResponseData(_c: Controller, chunk: Buffer): void {
    if (this.#pending407) return;
    if (this.#held) this.#held.push(() => this.#handler.onResponseData?.(this.#controller, chunk));
    else this.#handler.onResponseData?.(this.#controller, chunk);
  }

  onResponseEnd(_c: Controller, trailers: Headers): void {
    const challenges = this.#pending407;
    if (!challenges) {
      const end = (): void => {
        if (this.#done) return;
        this.#done = true;
        this.#handler.onResponseEnd?.(this.#controller, trailers);
      };
      if (this.#held) this.#held.push(end);
      else end();
      return;
    }
    this.#pending407 = undefined;
    const generation = this.#onAuthenticated;
    const onAuthenticatedConnection = generation !== undefined && this.#state.same(generation);
    this.#onAuthenticated = undefined;
    const abort = new AbortController();
    this.#controller.between = true;
    this.#controller.onAbortBetweenAttempts = (reason) => {
      abort.abort(reason);
      this.#fail(reason);
    };
    this.#session.answer407(challenges, { signal: abort.signal, onAuthenticatedConnection }).then(
      (header) => {
        if (this.#done) return; // aborted while the token was being made: already reported
        const body = this.#body.again();
        if (body instanceof ReplayLimitExceeded) return this.#fail(new RequestBodyReplayError(this.#route.proxy, this.#what(), body.limit));
        this.#send(header, body);
      },
      (error: unknown) => this.#fail(error),
    );
  }

  onResponseError(_c: Controller, error: Error): void {
    this.#fail(error);
  }

  #fail(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    const e = error instanceof Error ? error : new Error(String(error));
    this.#handler.onResponseError?.(this.#controller, forwardFailure(this.#route.proxy, this.#what(), e, this.#options.timeouts));
  }

  #what(): string {
    return requestName(this.#opts.method, this.#opts.path);
  }
}

/**
 * The interceptor for one pooled connection of a forwarding pool (a ForwardClient composes it onto
 * its Client): every request gets a ForwardAuthHandler. A request that needs a token waits for
 * it before it reaches the Client, and the Client reports itself busy meanwhile, so the pool sends
 * parallel requests to other connections instead of queueing them behind the token.
 */
export function forwardAuthInterceptor(route: ProxyRoute, options: ForwardOptions, connection: Connection, heads?: HeadBound): Dispatcher.DispatcherComposeInterceptor {
  const state = new ConnectionState(connection, heads);
  const basic = basicHeader(route);
  return (dispatch) => (opts, handler) => {
    const h = new ForwardAuthHandler(route, options, state, opts, handler, dispatch);
    if (!needsNegotiateToken(route, state.authenticated)) return h.sendNow(basic);
    h.sendWithToken();
    return false;
  };
}
