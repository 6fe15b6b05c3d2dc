import type { Dispatcher } from 'undici';
import { ProxyDispatcher as UndiciProxyDispatcher, type ProxyDispatcherOptions } from './proxy-dispatcher.js';

/**
 * The type Node's global `fetch` declares for `init.dispatcher`, read from the consumer's own globals.
 * @types/node types it with `undici-types`, the declarations of the undici that Node bundles, which
 * are a separate copy from npm undici's (this package's): undici-types 6 (@types/node 20 and 22) and
 * undici 7 differ in FormData's iterators and the handler API, so an npm undici 7 `Dispatcher` is not
 * assignable to @types/node 20's although Node's fetch accepts it at run time. With the DOM lib the
 * global `RequestInit` is the DOM's; the augmentation below gives it the `dispatcher` Node reads.
 */
export type FetchDispatcher = RequestInit extends { dispatcher?: infer D } ? NonNullable<D> : unknown;

/**
 * The exported `ProxyDispatcher`: the npm undici Dispatcher subclass, typed as also being the global
 * fetch's dispatcher, so that both `fetch(url, { dispatcher })` and npm undici's
 * `setGlobalDispatcher(dispatcher)` / `request(url, { dispatcher })` compile without casts.
 */
export type ProxyDispatcher = UndiciProxyDispatcher & FetchDispatcher;

export interface ProxyDispatcherConstructor {
  new (options?: ProxyDispatcherOptions): ProxyDispatcher;
  readonly prototype: ProxyDispatcher;
}

// The one cast: the class is the same object; only its declared instance type gains FetchDispatcher.
// npm undici's Dispatcher and @types/node's (undici-types) are two declarations of one class, not
// comparable to each other, so no cast without `unknown` compiles.
// eslint-disable-next-line no-restricted-syntax -- see above: two copies of undici's types
export const ProxyDispatcher = UndiciProxyDispatcher as unknown as ProxyDispatcherConstructor;

// The same test @types/node makes (web-globals/fetch.d.ts) to tell whether the DOM lib is loaded.
type DomRequestInitDispatcher = typeof globalThis extends { onmessage: any } ? { dispatcher?: Dispatcher } : {};

declare global {
  /** Node's fetch reads `dispatcher`; the DOM's RequestInit does not declare it (without the DOM lib this adds nothing). */
  interface RequestInit extends DomRequestInitDispatcher {}
}

export type { ProxyDispatcherOptions };
