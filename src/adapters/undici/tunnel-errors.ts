import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ProxyRoute } from '../../config/proxy-config.js';
import { tunnelFailure } from '../../transport/errors.js';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;
type Headers = Record<string, string | string[] | undefined>;
type RawHeaders = Buffer[] | string[] | null;

/**
 * The handler API of undici before 7 (`onConnect`, `onHeaders`, ...), which Node's bundled fetch still
 * speaks. undici's Request calls it natively; a handler of the newer API gets converted both ways.
 */
interface LegacyHandler {
  onConnect?(abort: (err?: Error) => void, context?: unknown): void;
  onError?(error: Error): void;
  onUpgrade?(statusCode: number, headers: RawHeaders, socket: Duplex): void;
  onResponseStarted?(): void;
  onHeaders?(statusCode: number, headers: RawHeaders, resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: RawHeaders): void;
  /** undici calls it with the chunk (lib/core/request.js); its types declare a size: passed on as it came. */
  onBodySent?(chunk: Buffer | number): void;
  onRequestSent?(): void;
}

/** Method and origin only: a path or query can hold secrets. */
function typed(route: ProxyRoute, opts: Dispatcher.DispatchOptions, error: Error): Error {
  return tunnelFailure(route.proxy, `${opts.method} ${String(opts.origin)}`, error);
}

/** Passes every callback through; reports a broken tunnel as the proxy's ProxyConnectionError. */
class TunnelErrorsHandler implements Handler {
  readonly #handler: Handler;
  readonly #route: ProxyRoute;
  readonly #opts: Dispatcher.DispatchOptions;

  constructor(route: ProxyRoute, opts: Dispatcher.DispatchOptions, handler: Handler) {
    this.#handler = handler;
    this.#route = route;
    this.#opts = opts;
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#handler.onRequestStart?.(controller, context);
  }
  onRequestUpgrade(controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    this.#handler.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }
  onResponseStart(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    this.#handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }
  onResponseData(controller: Controller, chunk: Buffer): void {
    this.#handler.onResponseData?.(controller, chunk);
  }
  onResponseEnd(controller: Controller, trailers: Headers): void {
    this.#handler.onResponseEnd?.(controller, trailers);
  }
  onResponseError(controller: Controller, error: Error): void {
    this.#handler.onResponseError?.(controller, typed(this.#route, this.#opts, error));
  }
}

/**
 * The same for a handler of the older API, kept in that API: undici would otherwise convert the
 * response's headers to an object and back to Buffers on every request (the cost of
 * `Dispatcher.compose`, which speaks only the newer one).
 */
class LegacyTunnelErrorsHandler implements LegacyHandler {
  readonly #handler: LegacyHandler;
  readonly #route: ProxyRoute;
  readonly #opts: Dispatcher.DispatchOptions;

  constructor(route: ProxyRoute, opts: Dispatcher.DispatchOptions, handler: LegacyHandler) {
    this.#handler = handler;
    this.#route = route;
    this.#opts = opts;
  }

  onConnect(abort: (err?: Error) => void, context?: unknown): void {
    this.#handler.onConnect?.(abort, context);
  }
  onUpgrade(statusCode: number, headers: RawHeaders, socket: Duplex): void {
    this.#handler.onUpgrade?.(statusCode, headers, socket);
  }
  onResponseStarted(): void {
    this.#handler.onResponseStarted?.();
  }
  onHeaders(statusCode: number, headers: RawHeaders, resume: () => void, statusText: string): boolean {
    return this.#handler.onHeaders?.(statusCode, headers, resume, statusText) !== false;
  }
  onData(chunk: Buffer): boolean {
    return this.#handler.onData?.(chunk) !== false;
  }
  onComplete(trailers: RawHeaders): void {
    this.#handler.onComplete?.(trailers);
  }
  onBodySent(chunk: Buffer | number): void {
    this.#handler.onBodySent?.(chunk);
  }
  onRequestSent(): void {
    this.#handler.onRequestSent?.();
  }
  onError(error: Error): void {
    const mapped = typed(this.#route, this.#opts, error);
    if (!this.#handler.onError) throw mapped;
    this.#handler.onError(mapped);
  }
}

/**
 * The caller's handler, with the failures of a request through a CONNECT tunnel typed, in whichever
 * handler API the caller speaks (the same test undici makes).
 */
export function tunnelErrorsHandler(route: ProxyRoute, opts: Dispatcher.DispatchOptions, handler: Handler): Handler {
  if (typeof handler.onRequestStart === 'function') return new TunnelErrorsHandler(route, opts, handler);
  return new LegacyTunnelErrorsHandler(route, opts, handler as LegacyHandler);
}
