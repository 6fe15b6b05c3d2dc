import type { Env } from './env.js';

/** Each variable a compilation read, with the value it saw (undefined: unset). */
type Reads = ReadonlyArray<readonly [string, string | undefined]>;

interface Entry<T> {
  reads: Reads;
  value: T;
}

const SHARED_LIMIT = 32;

/**
 * Compiled objects (configurations, bypass lists) reused while the environment still holds the values
 * they were compiled from. Each remembers the variables it read, and only those are read again and
 * compared one by one: no key is built from the values, so a 10,000-entry NO_PROXY is neither copied
 * into a key nor hashed per call. (A plain object's unchanged value is the same string, compared by
 * identity; `process.env` hands out a fresh copy on every read, which Node makes, not this cache.)
 */
export class EnvCache<K extends object, T> {
  readonly #last = new WeakMap<K, Entry<T>>();
  /** Most recent first; lets another object with the same values reuse a compilation (shared caches only). */
  readonly #shared: Array<Entry<T>> | undefined;

  constructor(options: { shared: boolean }) {
    this.#shared = options.shared ? [] : undefined;
  }

  /** The compilation for `key` under `env` as it is now: `compile` runs only when a value it read has changed. */
  get(key: K, env: Env, compile: (env: Env) => T): T {
    const last = this.#last.get(key);
    if (last !== undefined && unchanged(env, last.reads)) return last.value;
    const shared = this.#shared?.find((e) => e !== last && unchanged(env, e.reads));
    if (shared !== undefined) {
      this.#last.set(key, shared);
      return shared.value;
    }
    const reads: Array<[string, string | undefined]> = [];
    // The compiler reads through this view, so exactly what it consulted is checked next time.
    const recording = new Proxy(env, {
      get(target, name) {
        const value = Reflect.get(target, name) as string | undefined;
        if (typeof name === 'string' && !reads.some(([n]) => n === name)) reads.push([name, value]);
        return value;
      },
    });
    const entry = { reads, value: compile(recording) };
    this.#last.set(key, entry);
    if (this.#shared) {
      this.#shared.unshift(entry);
      if (this.#shared.length > SHARED_LIMIT) this.#shared.pop();
    }
    return entry.value;
  }
}

function unchanged(env: Env, reads: Reads): boolean {
  for (const [name, value] of reads) if (env[name] !== value) return false;
  return true;
}
