import type { Dispatcher } from 'undici';
import type { ProxyRoute } from '../../config/proxy-config.js';
import { ConnectionAuth, type ProxyAuthOptions } from '../../transport/connection-auth.js';
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

/**
 * The 407 handler for absolute-form requests forwarded to the proxy: a 407 is not passed on, but
 * answered (fresh Negotiate token, or Basic when that is all the proxy takes) and the request sent
 * again, at most MAX_AUTH_RETRIES times; then a ProxyAuthenticationError saying what the proxy offered.
 */
class ForwardAuthHandler implements Handler {
  readonly #handler: Handler;
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #auth: ConnectionAuth;
  readonly #controller = new StableController();
  #started = false;
  #done = false;
  #swallowing: string[] | undefined;

  constructor(route: ProxyRoute, options: ProxyAuthOptions, opts: Dispatcher.DispatchOptions, handler: Handler, dispatch: Dispatcher.Dispatch) {
    this.#handler = handler;
    this.#dispatch = dispatch;
    this.#opts = opts;
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

  onResponseStart(_c: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    if (statusCode === 407 && replayable(this.#opts.body)) {
      const value = headers['proxy-authenticate'];
      this.#swallowing = value === undefined ? [] : Array.isArray(value) ? value : [value];
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
    this.#fail(error);
  }

  #fail(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#handler.onResponseError?.(this.#controller, error instanceof Error ? error : new Error(String(error)));
  }
}

/** The undici interceptor that puts ForwardAuthHandler around every request to the proxy. */
export function forwardAuthInterceptor(route: ProxyRoute, options: ProxyAuthOptions): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => dispatch(opts, new ForwardAuthHandler(route, options, opts, handler, dispatch));
}
