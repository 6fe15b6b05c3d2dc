import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ProxyEndpoint } from '../../config/proxy-url.js';
import { decideRetry, idempotent } from '../../transport/retry-decision.js';
import { errorCode, reportNoRetry, reportRetry } from '../../transport/retry-report.js';
import { ReplayableBody, ReplayLimitExceeded, resendable } from '../../transport/replayable-body.js';
import { StableController } from './stable-controller.js';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;
type Headers = Record<string, string | string[] | undefined>;

/** What a RetryHandler is told besides the request: where it goes, and who counts live requests. */
export interface RetryContext {
  proxy: ProxyEndpoint;
  /** Bytes of a streamed body recorded to send it again (see replayable-body.ts). */
  bodyReplayLimit: number;
  /** Called once, when the request is over for the caller (answered, failed or aborted). */
  settled: () => void;
}

/**
 * One request through a proxy, sent again on a new connection when it failed before any byte of its
 * answer arrived and `decideRetry` says so (modelled on undici's RetryHandler, without its status and
 * Range retries: an answer, whole or partial, is never retried). Each attempt gets the body again:
 * recorded when streamed (an idempotent request's only), as is when it can be handed over twice.
 * The caller sees one request: one controller (StableController) from the start, one answer or one
 * error, and can abort it at any time, between attempts included.
 */
export class RetryHandler implements Handler {
  readonly #handler: Handler;
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #context: RetryContext;
  readonly #body: ReplayableBody<Dispatcher.DispatchOptions['body']> | undefined;
  readonly #controller = new StableController();
  /** performance.now() of the first attempt's failure: the retry budget runs from there. */
  #firstFailure: number | undefined;
  #attempt = 1;
  #responseStarted = false;
  #done = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: Dispatcher.DispatchOptions, handler: Handler, dispatch: Dispatcher.Dispatch, context: RetryContext) {
    this.#handler = handler;
    this.#dispatch = dispatch;
    this.#opts = opts;
    this.#context = context;
    // Only an idempotent request's streamed body is recorded: any other is never sent twice.
    this.#body = idempotent(opts.method) || resendable(opts.body) ? new ReplayableBody(opts.body, context.bodyReplayLimit) : undefined;
  }

  /** Announces the request to the caller (so an abort reaches it from now on) and sends it. */
  start(): boolean {
    this.#controller.between = true;
    this.#controller.onAbortBetweenAttempts = (reason) => this.#finish(reason);
    this.#handler.onRequestStart?.(this.#controller, {});
    if (this.#done) return true;
    return this.#send(this.#body ? this.#body.first() : this.#opts.body);
  }

  #send(body: unknown): boolean {
    const opts = body === this.#opts.body ? this.#opts : { ...this.#opts, body: body as Dispatcher.DispatchOptions['body'] };
    return this.#dispatch(opts, this);
  }

  onRequestStart(controller: Controller, _context: unknown): void {
    // An attempt the caller no longer waits for (aborted, or failed meanwhile) goes no further.
    if (this.#done) return controller.abort(this.#controller.reason ?? new Error('request already settled'));
    this.#controller.current = controller;
  }

  onRequestUpgrade(_c: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    if (this.#done) return void socket.destroy();
    this.#responseStarted = true;
    this.#done = true;
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, headers, socket);
    this.#context.settled();
  }

  onResponseStart(_c: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    if (this.#done) return;
    this.#responseStarted = true;
    this.#handler.onResponseStart?.(this.#controller, statusCode, headers, statusMessage);
  }

  onResponseData(_c: Controller, chunk: Buffer): void {
    if (!this.#done) this.#handler.onResponseData?.(this.#controller, chunk);
  }

  onResponseEnd(_c: Controller, trailers: Headers): void {
    if (this.#done) return;
    this.#done = true;
    this.#handler.onResponseEnd?.(this.#controller, trailers);
    this.#context.settled();
  }

  onResponseError(_c: Controller, error: Error): void {
    if (this.#done) return;
    if (this.#controller.reason === null) {
      const now = performance.now();
      this.#firstFailure ??= now;
      const elapsed = now - this.#firstFailure;
      const decision = decideRetry(this.#opts.method, this.#body !== undefined, error, this.#responseStarted, this.#attempt, elapsed, Math.random());
      if (decision.retry) {
        this.#attempt++;
        reportRetry({ method: this.#opts.method, proxy: this.#context.proxy.redacted, attempt: this.#attempt, reason: decision.reason, delay: decision.delay }, errorCode(error));
        this.#controller.detach();
        this.#timer = setTimeout(() => this.#again(error), decision.delay);
        return;
      }
      if (decision.reason !== 'not-a-connection-failure') reportNoRetry(this.#opts.method, this.#context.proxy.redacted, decision.reason, this.#attempt, elapsed, errorCode(error));
    }
    this.#finish(error);
  }

  #again(error: Error): void {
    this.#timer = undefined;
    if (this.#done) return;
    const body = this.#body?.again();
    if (body === undefined || body instanceof ReplayLimitExceeded) return this.#finish(error);
    this.#send(body);
  }

  /** The one error the caller gets (once). */
  #finish(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#handler.onResponseError?.(this.#controller, error);
    this.#context.settled();
  }
}

/** The interceptor that gives every request through a proxy's pool its RetryHandler (compose it onto the pool). */
export function retryInterceptor(context: Omit<RetryContext, 'settled'>, live: { start(): void; settled(): void }): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    live.start();
    return new RetryHandler(opts, handler, dispatch, { ...context, settled: () => live.settled() }).start();
  };
}
