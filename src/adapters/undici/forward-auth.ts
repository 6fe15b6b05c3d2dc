import type { Dispatcher } from 'undici';
import type { ProxyRoute } from '../../config/proxy-config.js';
import { offeredSchemes, parseChallenges } from '../../auth/challenge.js';
import { ConnectionAuth, type ProxyAuthOptions } from '../../transport/connection-auth.js';
import { forwardFailure, ProxyAuthenticationError } from '../../transport/errors.js';
import { replaceHeader } from './headers.js';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;

/**
 * The handler's view of the request's controller stays the same across retries: every member acts on,
 * or reads from, whichever attempt is current. That includes `rawHeaders`/`rawTrailers`: undici 8's
 * fetch (Node 26) reads a response's headers from the controller, not from `onResponseStart`, so a
 * wrapper that drops them loses every header, `Location` included (undici's RetryController forwards
 * them for the same reason). A pause is kept across attempts. An abort that arrives between two
 * attempts, when there is no live request to abort, is reported through `onAbortBetweenAttempts`.
 */
class StableController implements Controller {
  #current: Controller | undefined;
  #paused = false;
  #reason: Error | null = null;
  between = false;
  onAbortBetweenAttempts: ((reason: Error) => void) | undefined;

  set current(controller: Controller) {
    this.#current = controller;
    this.between = false;
    if (this.#paused) controller.pause();
  }
  get aborted(): boolean {
    return this.#reason !== null || (this.#current?.aborted ?? false);
  }
  get paused(): boolean {
    return this.#paused || (this.#current?.paused ?? false);
  }
  get reason(): Error | null {
    return this.#reason ?? this.#current?.reason ?? null;
  }
  get rawHeaders(): Controller['rawHeaders'] {
    return this.#current?.rawHeaders ?? null;
  }
  set rawHeaders(value: Controller['rawHeaders']) {
    if (this.#current) this.#current.rawHeaders = value;
  }
  get rawTrailers(): Controller['rawTrailers'] {
    return this.#current?.rawTrailers ?? null;
  }
  set rawTrailers(value: Controller['rawTrailers']) {
    if (this.#current) this.#current.rawTrailers = value;
  }
  abort(reason: Error): void {
    this.#reason ??= reason;
    if (this.between) this.onAbortBetweenAttempts?.(this.#reason);
    else this.#current?.abort(reason);
  }
  pause(): void {
    this.#paused = true;
    this.#current?.pause();
  }
  resume(): void {
    this.#paused = false;
    this.#current?.resume();
  }
}

function replayable(body: Dispatcher.DispatchOptions['body']): boolean {
  return body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
}

/** What the forward interceptor needs besides the route: the auth options and the bounds in force. */
export interface ForwardOptions extends ProxyAuthOptions {
  /** The response-header and body-gap bounds of the pool (ms), named in timeout errors. */
  timeouts: { headers: number; body: number };
}

/**
 * The 407 handler for absolute-form requests forwarded to the proxy: a 407 is not passed on, but
 * answered (fresh Negotiate token, or Basic when that is all the proxy takes) and the request sent
 * again, at most MAX_AUTH_RETRIES times; then a ProxyAuthenticationError saying what the proxy offered.
 * Every failure of the exchange reaches the caller as a JaatoProxyError naming the proxy (undici's own
 * error as its cause): a stalled answer is a ProxyTimeoutError, a broken connection a
 * ProxyConnectionError. A 407 to a request whose streamed body cannot be sent again is an error that
 * says so, never a bare 407 (which fetch turns into an empty "fetch failed").
 */
class ForwardAuthHandler implements Handler {
  readonly #handler: Handler;
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #route: ProxyRoute;
  readonly #timeouts: ForwardOptions['timeouts'];
  readonly #auth: ConnectionAuth;
  readonly #controller = new StableController();
  #started = false;
  #done = false;
  #explaining = false;
  #swallowing: string[] | undefined;

  constructor(route: ProxyRoute, options: ForwardOptions, opts: Dispatcher.DispatchOptions, handler: Handler, dispatch: Dispatcher.Dispatch) {
    this.#handler = handler;
    this.#dispatch = dispatch;
    this.#opts = opts;
    this.#route = route;
    this.#timeouts = options.timeouts;
    this.#auth = new ConnectionAuth(route, options);
    this.#controller.onAbortBetweenAttempts = (reason) => this.#fail(reason);
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#controller.current = controller;
    if (this.#started) return;
    this.#started = true;
    this.#handler.onRequestStart?.(this.#controller, context);
  }

  onRequestUpgrade(_c: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>, socket: import('node:stream').Duplex): void {
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, headers, socket);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    if (statusCode === 407) {
      const value = headers['proxy-authenticate'];
      const challenges = value === undefined ? [] : Array.isArray(value) ? value : [value];
      if (replayable(this.#opts.body)) {
        this.#swallowing = challenges;
        return;
      }
      // Why it cannot be answered: the 407 policy's reason when there is nothing to answer with
      // (Kerberos off, no credentials), else that the streamed body cannot be sent a second time.
      this.#explaining = true; // the abort's own error is not what the caller should see
      controller.abort(new Error('proxy authentication required'));
      this.#auth.next(challenges).then(
        () =>
          this.#fail(
            new ProxyAuthenticationError(
              this.#route.proxy,
              offeredSchemes(parseChallenges(challenges)),
              'the proxy asked again after the request body had been streamed, and a streamed body cannot be sent twice',
            ),
          ),
        (error: unknown) => this.#fail(error),
      );
      return;
    }
    this.#handler.onResponseStart?.(this.#controller, statusCode, headers, statusMessage);
  }

  onResponseData(_c: Controller, chunk: Buffer): void {
    if (this.#swallowing) return;
    this.#handler.onResponseData?.(this.#controller, chunk);
  }

  onResponseEnd(_c: Controller, trailers: Record<string, string | string[] | undefined>): void {
    const challenges = this.#swallowing;
    if (!challenges) {
      this.#done = true;
      this.#handler.onResponseEnd?.(this.#controller, trailers);
      return;
    }
    this.#swallowing = undefined;
    this.#controller.between = true;
    this.#auth.next(challenges).then(
      (header) => {
        if (this.#done) return; // aborted while the token was being made: already reported
        this.#dispatch({ ...this.#opts, headers: replaceHeader(this.#opts.headers, 'proxy-authorization', header) }, this);
      },
      (error: unknown) => this.#fail(error),
    );
  }

  onResponseError(_c: Controller, error: Error): void {
    if (this.#explaining) return;
    this.#fail(error);
  }

  #fail(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    const e = error instanceof Error ? error : new Error(String(error));
    this.#handler.onResponseError?.(this.#controller, forwardFailure(this.#route.proxy, this.#what(), e, this.#timeouts));
  }

  /** The request as an error may name it: method and origin, never the path or query (they can hold secrets). */
  #what(): string {
    try {
      return `${this.#opts.method} ${new URL(this.#opts.path).origin}`;
    } catch {
      return this.#opts.method;
    }
  }
}

/** The undici interceptor that puts ForwardAuthHandler around every request to the proxy. */
export function forwardAuthInterceptor(route: ProxyRoute, options: ForwardOptions): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => dispatch(opts, new ForwardAuthHandler(route, options, opts, handler, dispatch));
}
