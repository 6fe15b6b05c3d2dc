/**
 * Proxies that could not be reached lately. As browsers do, a PAC entry that failed is tried last, not
 * dropped, until its mark expires: a proxy that comes back is used again without a restart.
 */
export class BadProxies {
  readonly #until = new Map<string, number>();
  readonly #markMs: number;
  readonly #now: () => number;

  constructor(markMs: number, now: () => number = Date.now) {
    this.#markMs = markMs;
    this.#now = now;
  }

  mark(proxy: string): void {
    this.#until.set(proxy, this.#now() + this.#markMs);
  }

  isBad(proxy: string): boolean {
    const until = this.#until.get(proxy);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    this.#until.delete(proxy);
    return false;
  }

  /** The same entries, good ones first, each group in its original order. */
  order<T>(entries: readonly T[], proxyOf: (entry: T) => string | undefined): T[] {
    const good: T[] = [];
    const bad: T[] = [];
    for (const e of entries) {
      const p = proxyOf(e);
      (p !== undefined && this.isBad(p) ? bad : good).push(e);
    }
    return [...good, ...bad];
  }
}
