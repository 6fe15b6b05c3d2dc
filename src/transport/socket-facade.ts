import type { Socket } from 'node:net';
import { Duplex, type DuplexOptions } from 'node:stream';
import { destroySoon } from './destroy-soon.js';

/**
 * A Duplex that node:http takes for its socket while the bytes go through code of ours to a real
 * socket underneath: the socket methods node:http and its Agent call (keep-alive, no-delay, timeouts,
 * ref/unref, addresses), and ending and reading, are passed to that socket. Which socket that is may
 * change (a connection that dials again after a 407), so subclasses say it through `inner`.
 */
export abstract class SocketFacade extends Duplex {
  #timeout = 0;

  constructor(options?: DuplexOptions) {
    super(options);
  }

  /** The socket the bytes go through now. */
  protected abstract get inner(): Socket;

  // Ending our side ends the socket's; reading resumes it (a subclass pauses it when push() says so).
  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end();
    callback();
  }

  override _read(): void {
    this.inner.resume();
  }

  setKeepAlive(enable?: boolean, delay?: number): this {
    this.inner.setKeepAlive(enable, delay);
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.inner.setNoDelay(noDelay);
    return this;
  }
  /** The idle timeout node:http sets; a subclass relays the inner socket's `'timeout'` as its own. */
  setTimeout(ms: number, callback?: () => void): this {
    this.#timeout = ms;
    this.inner.setTimeout(ms);
    if (callback) this.once('timeout', callback);
    return this;
  }
  get timeout(): number {
    return this.#timeout;
  }
  ref(): this {
    this.inner.ref();
    return this;
  }
  unref(): this {
    this.inner.unref();
    return this;
  }
  destroySoon(): void {
    destroySoon(this);
  }
  get remoteAddress(): string | undefined {
    return this.inner.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.inner.remotePort;
  }
  get localAddress(): string | undefined {
    return this.inner.localAddress;
  }
  get localPort(): number | undefined {
    return this.inner.localPort;
  }
}
