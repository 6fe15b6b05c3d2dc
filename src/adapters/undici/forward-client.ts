import { EventEmitter } from 'node:events';
import { Dispatcher, type Client } from 'undici';

/**
 * One connection of a forwarding pool, as the Pool's `factory` returns it: it owns its undici `Client`
 * (one socket), sends every request through the forward-auth interceptor, and passes the Client's
 * events on as its own. It also says it is free again (`drained`) when a request it reported busy for
 * while its token was made never reaches the Client, or reached it without making it busy: the Client
 * would not say so, and the Pool would never send it another request. Model: undici's
 * `Http1ProxyWrapper` (lib/dispatcher/proxy-agent.js), a dispatcher of its own around a Client.
 */
export class ForwardClient extends Dispatcher {
  readonly #client: Client;
  readonly #origin: URL;
  readonly #dispatch: Dispatcher.Dispatch;

  /** `intercept` gets this ForwardClient: its `connect`/`disconnect` events, and `drained()`. */
  constructor(client: Client, origin: string, intercept: (owner: ForwardClient) => Dispatcher.DispatcherComposeInterceptor) {
    super();
    this.#client = client;
    this.#origin = new URL(origin);
    client.on('connect', (at, targets) => this.emit('connect', at, [this, ...targets]));
    client.on('disconnect', (at, targets, error) => this.emit('disconnect', at, [this, ...targets], error));
    client.on('connectionError', (at, targets, error) => this.emit('connectionError', at, [this, ...targets], error));
    client.on('drain', (at: URL, targets: readonly Dispatcher[] = []) => this.#drain(at, [this, ...targets]));
    const composed = client.compose(intercept(this));
    this.#dispatch = (opts, handler) => composed.dispatch(opts, handler);
  }

  get closed(): boolean {
    return this.#client.closed;
  }

  get destroyed(): boolean {
    return this.#client.destroyed;
  }

  /** The request that made this connection report busy no longer holds it: the Pool may use it again. */
  drained(): void {
    this.#drain(this.#origin, [this]);
  }

  /** As undici's dispatchers emit it (origin, targets), which the Pool reads; its typings list the origin only. */
  #drain(origin: URL, targets: readonly Dispatcher[]): void {
    EventEmitter.prototype.emit.call(this, 'drain', origin, targets);
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#dispatch(opts, handler);
  }

  override close(callback: () => void): void;
  override close(): Promise<void>;
  override close(callback?: () => void): Promise<void> | void {
    if (callback) return this.#client.close(callback);
    return this.#client.close();
  }

  override destroy(err: Error | null, callback: () => void): void;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null): Promise<void>;
  override destroy(): Promise<void>;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    if (callback) return this.#client.destroy(err, callback);
    return this.#client.destroy(err);
  }
}
