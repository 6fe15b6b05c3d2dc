import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ProxyRoute } from '../../config/proxy-config.js';
import { forwardFailure } from '../../transport/errors.js';
import { checkReply, makeLeg } from '../../transport/exchange-steps.js';
import { ProxyAuthSession, type ProxyAuthOptions } from '../../transport/proxy-auth-session.js';
import { connectionCloses, ProxyExchange, type ExchangeAction } from '../../transport/proxy-exchange.js';
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
 * One request forwarded to the proxy in absolute form: the undici binding of the forwarded exchange
 * (transport/proxy-exchange.ts decides; this handler does what it asks), a decorator in the manner of
 * undici's RetryHandler:
 * - the token goes up front when the connection is not authenticated yet, or on every request once the
 *   proxy is known to authenticate requests; on a Squid connection already authenticated, nothing is
 *   added and nothing waits;
 * - a 407 is not passed on but answered and the request sent again on the same Client (kept alive),
 *   body included (replayable-body.ts); undici redials when the proxy closed the connection;
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
  readonly #exchange: ProxyExchange;
  readonly #body: ReplayableBody<Dispatcher.DispatchOptions['body']>;
  readonly #controller = new StableController();
  #started = false;
  /** The body the replay carries (a fresh attempt of a streamed one). */
  #replayBody: unknown;
  /** The answer is a 407 being answered: none of it reaches the caller. */
  #holding = false;
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
    this.#exchange = new ProxyExchange(route, this.#session, state, () => requestName(opts.method, opts.path));
    this.#body = new ReplayableBody(opts.body, options.bodyReplayLimit);
  }

  /**
   * Starts the exchange; returns what the Client's dispatch returned, or false while the token is
   * made: the pool then sends parallel requests to other connections. The caller's handler gets the
   * controller at once, so an abort ends the wait for the token at once too.
   */
  start(): boolean {
    const action = this.#exchange.step({ type: 'start' });
    if (action.do !== 'token') return !this.#act(action);
    this.#started = true;
    this.#handler.onRequestStart?.(this.#controller, {});
    this.#act(action);
    return false;
  }

  /** Does what the exchange asks; returns true when a send left the Client busy (it will announce when free). */
  #act(action: ExchangeAction): boolean {
    switch (action.do) {
      case 'token':
      case 'answer': {
        const abort = new AbortController();
        this.#controller.between = true;
        this.#controller.onAbortBetweenAttempts = (reason) => {
          abort.abort(reason);
          this.#fail(reason);
        };
        void makeLeg(this.#session, action, abort.signal).then((event) => {
          const busy = this.#act(this.#exchange.step(event));
          // The pool was told this connection was busy while the first token was made: when the request
          // never reached the Client, or the Client took it without becoming busy, it will not say it is free.
          if (action.do === 'token' && !busy) this.#state.release();
        });
        return false;
      }
      case 'replay-body': {
        const body = this.#body.again();
        this.#replayBody = body;
        return this.#act(this.#exchange.step(body instanceof ReplayLimitExceeded ? { type: 'body', replayable: false, limit: body.limit } : { type: 'body', replayable: true, limit: 0 }));
      }
      case 'send':
        return !this.#send(action.header, action.replay ? this.#replayBody : this.#body.first());
      case 'fail':
        this.#report(action.error);
        return false;
      default:
        return false;
    }
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
    const action = this.#exchange.step({ type: 'written' });
    if (action.do === 'fail') {
      this.#report(action.error);
      controller.abort(action.error as Error);
      return;
    }
    if (this.#started) return;
    this.#started = true;
    this.#handler.onRequestStart?.(this.#controller, context);
  }

  onRequestUpgrade(_c: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, headers, socket);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    // undici redials by itself after a close; the exchange needs to know only for a leg bound to the connection.
    const action = this.#exchange.step({ type: 'head', statusCode, statusText: statusMessage ?? '', headers, closes: connectionCloses(headers), bodySent: true });
    switch (action.do) {
      case 'hold':
        this.#holding = true;
        return;
      case 'deliver':
        this.#handler.onResponseStart?.(this.#controller, statusCode, headers, statusMessage);
        return;
      case 'fail':
        this.#report(action.error);
        controller.abort(action.error as Error);
        return;
      case 'verify':
        break;
      default:
        return;
    }
    // Hold the answer until the proxy has proved itself; nothing of it reaches the caller before.
    this.#held = [];
    controller.pause();
    void checkReply(this.#session, headers, `its ${statusCode} answer to ${this.#what()}`, this.#state.verified).then((event) => {
      const next = this.#exchange.step(event);
      const held = this.#held ?? [];
      this.#held = undefined;
      if (next.do === 'deliver') {
        this.#handler.onResponseStart?.(this.#controller, statusCode, headers, statusMessage);
        for (const call of held) call();
        if (!this.#exchange.done) this.#controller.resume();
      } else if (next.do === 'fail') {
        this.#report(next.error);
        controller.abort(next.error as Error); // never reuse a connection to a proxy that failed to prove itself
      }
    });
  }

  onResponseData(_c: Controller, chunk: Buffer): void {
    if (this.#holding) return;
    if (this.#held) this.#held.push(() => this.#handler.onResponseData?.(this.#controller, chunk));
    else this.#handler.onResponseData?.(this.#controller, chunk);
  }

  onResponseEnd(_c: Controller, trailers: Headers): void {
    const action = this.#exchange.step({ type: 'end' });
    if (action.do === 'answer') {
      this.#holding = false;
      this.#act(action);
      return;
    }
    if (action.do !== 'finish') return;
    this.#session.dispose();
    const end = (): void => {
      this.#handler.onResponseEnd?.(this.#controller, trailers);
    };
    if (this.#held) this.#held.push(end);
    else end();
  }

  onResponseError(_c: Controller, error: Error): void {
    this.#fail(error);
  }

  /** A failure of the I/O (undici's, an abort): the exchange ends, and the caller hears of it once. */
  #fail(error: unknown): void {
    this.#session.dispose();
    const action = this.#exchange.step({ type: 'failed', error });
    if (action.do === 'fail') this.#report(action.error);
  }

  #report(error: unknown): void {
    this.#session.dispose();
    const e = error instanceof Error ? error : new Error(String(error));
    this.#handler.onResponseError?.(this.#controller, forwardFailure(this.#route.proxy, this.#what(), e, this.#options.timeouts));
  }

  #what(): string {
    return this.#exchange.what;
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
  return (dispatch) => (opts, handler) => {
    return new ForwardAuthHandler(route, options, state, opts, handler, dispatch).start();
  };
}
