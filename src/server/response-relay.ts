import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { appendVia, endToEnd } from './hop-headers.js';

/** How a forwarded request ended, for the 502 or the log line. */
export interface RelayOutcome {
  /** The upstream's status (0 when there was no answer). */
  status: number;
  /** Body bytes written to the client. */
  bytes: number;
  /** The answer never began: `error` says why (the caller answers 502). */
  error?: Error;
  /** An unanswered 407's challenges: not passed on (they are for the hop that received them). */
  unanswered407?: string | string[] | undefined;
}

/**
 * An undici dispatch handler that writes the upstream's answer straight into the client's response:
 * no body stream between them (undici's `request()` would make one, and `pipe()` another hop), the
 * client's backpressure pausing the upstream read. `done` is called once, when the client's response
 * has closed or the answer failed before it began.
 */
export class ResponseRelay implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #via: string;
  readonly #done: (outcome: RelayOutcome) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #bytes = 0;
  #unanswered407 = false;
  #challenges: string | string[] | undefined;
  #finished = false;

  constructor(res: ServerResponse, via: string, done: (outcome: RelayOutcome) => void) {
    this.#res = res;
    this.#via = via;
    this.#done = done;
    res.on('close', () => {
      // The client left before the answer ended: stop reading it.
      if (!res.writableFinished) this.#controller?.abort(new Error('the client closed its connection'));
      if (this.#status !== 0 && !this.#unanswered407) this.#finish({ status: this.#status, bytes: this.#bytes });
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller; // again on a retry
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.#status = statusCode;
    if (statusCode === 407) {
      // Read to its end (the connection stays usable), then the caller answers 502.
      this.#unanswered407 = true;
      this.#challenges = headers['proxy-authenticate'];
      return;
    }
    const back = endToEnd(headers);
    back.via = appendVia(back.via, this.#via);
    this.#res.writeHead(statusCode, back);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#unanswered407) return;
    this.#bytes += chunk.length;
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    if (this.#unanswered407) return this.#finish({ status: 407, bytes: 0, unanswered407: this.#challenges });
    this.#res.end();
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    // Before the answer began the caller can still answer 502; after, the client's connection is cut
    // (its response cannot be completed).
    if (this.#status === 0 || this.#unanswered407) return this.#finish({ status: 0, bytes: 0, error });
    this.#res.destroy();
  }

  #finish(outcome: RelayOutcome): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#done(outcome);
  }
}
