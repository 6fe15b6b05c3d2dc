/**
 * Bounds on the native Kerberos calls. The binding (native/) runs each GSSAPI/SSPI call that may reach
 * the KDC on libuv's threadpool through koffi's async calls (4 threads unless UV_THREADPOOL_SIZE says
 * otherwise), the same threads fs, dns.lookup, crypto and zlib use, and a call cannot be cancelled: against a KDC that accepts connections and never answers,
 * MIT krb5 holds its thread for its own retry schedule, 45-54 s measured (issue 10). So:
 *
 * - at most `max` calls run at once (half the pool), so the rest of the process keeps its threads;
 * - each caller has a deadline covering its wait for a slot and the call itself;
 * - an abort ends the caller's wait at once.
 *
 * A call given up on (deadline, abort) keeps running on its thread until the library returns, and it
 * keeps its slot until then: counting it is what stops a hung KDC from taking the whole pool.
 */
export class GssCallLimiter {
  readonly max: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`GssCallLimiter: max must be a positive integer, got ${max}`);
    this.max = max;
  }

  /** Native work in flight, including work whose caller has given up. */
  get running(): number {
    return this.#running;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `work` once a slot is free and settles with its result; or rejects with `onTimeout()` when
   * `timeout` ms have passed since this call, or with `signal.reason` when it aborts, whichever is
   * first. `work` is told through `abandoned()` that nobody waits for it any more, so it can skip
   * native calls it has not started yet.
   */
  run<T>(work: (abandoned: () => boolean) => Promise<T>, options: { timeout: number; onTimeout: () => Error; signal?: AbortSignal | undefined }): Promise<T> {
    const { timeout, onTimeout, signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let queued: (() => void) | undefined;
      const finish = (settle: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (queued) this.#waiting.splice(this.#waiting.indexOf(queued), 1);
        settle();
      };
      const onAbort = (): void => finish(() => reject(signal?.reason));
      const timer = setTimeout(() => finish(() => reject(onTimeout())), timeout);
      signal?.addEventListener('abort', onAbort, { once: true });
      const start = (): void => {
        queued = undefined;
        this.#running++;
        let pending: Promise<T>;
        try {
          pending = work(() => settled);
        } catch (error) {
          pending = Promise.reject(error);
        }
        pending
          .then(
            (value) => finish(() => resolve(value)),
            (error: unknown) => finish(() => reject(error)),
          )
          .finally(() => this.#release());
      };
      if (this.#running < this.max) start();
      else this.#waiting.push((queued = start));
    });
  }

  #release(): void {
    this.#running--;
    this.#waiting.shift()?.();
  }
}

/** libuv reads UV_THREADPOOL_SIZE once, at the pool's first use; 4 when unset, at most 1024. */
function threadpoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4;
}

/** The process-wide bound every token goes through: half the threadpool (2 by default), at least 1. */
export const gssCalls = new GssCallLimiter(Math.max(1, Math.floor(threadpoolSize() / 2)));
