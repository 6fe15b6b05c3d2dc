import type { Dispatcher } from 'undici';

type Controller = Dispatcher.DispatchController;

/**
 * The handler's view of the request's controller stays the same across retries: every member acts on,
 * or reads from, whichever attempt is current. That includes `rawHeaders`/`rawTrailers`: undici 8's
 * fetch (Node 26) reads a response's headers from the controller, not from `onResponseStart`, so a
 * wrapper that drops them loses every header, `Location` included (undici's RetryController forwards
 * them for the same reason). A pause is kept across attempts. An abort that arrives between two
 * attempts, when there is no live request to abort, is reported through `onAbortBetweenAttempts`.
 */
export class StableController implements Controller {
  #current: Controller | undefined;
  #paused = false;
  #reason: Error | null = null;
  between = false;
  onAbortBetweenAttempts: ((reason: Error) => void) | undefined;

  /** Between attempts: nothing live to act on or read from (the failed attempt's controller is done). */
  detach(): void {
    this.#current = undefined;
    this.between = true;
  }
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
