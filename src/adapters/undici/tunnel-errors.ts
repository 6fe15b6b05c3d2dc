import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ProxyRoute } from '../../config/proxy-config.js';
import { tunnelFailure } from '../../transport/errors.js';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;
type Headers = Record<string, string | string[] | undefined>;

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
    // Method and origin only: a path or query can hold secrets.
    this.#handler.onResponseError?.(controller, tunnelFailure(this.#route.proxy, `${this.#opts.method} ${String(this.#opts.origin)}`, error));
  }
}

/** The undici interceptor that types the failures of requests through CONNECT tunnels. */
export function tunnelErrorsInterceptor(route: ProxyRoute): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => dispatch(opts, new TunnelErrorsHandler(route, opts, handler));
}
