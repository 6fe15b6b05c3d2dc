import { ProxyDispatcher, type ProxyDispatcherOptions } from './undici/public-dispatcher.js';

/** A `fetch` routed through a ProxyDispatcher; `dispatcher` is exposed for `close()` and for SDK options. */
export type ProxiedFetch = typeof globalThis.fetch & { readonly dispatcher: ProxyDispatcher };

/**
 * The seed's `get_httpx_client` / `get_httpx_async_client`: a `fetch`-compatible function with proxy
 * routing, Negotiate and the 407 handler. Built on Node's own global `fetch` with a dispatcher, so a
 * built-in `Request` works as input (libraries such as ky and axios' fetch adapter pass one).
 */
export function createFetch(options: ProxyDispatcherOptions = {}): ProxiedFetch {
  const dispatcher = new ProxyDispatcher(options);
  const proxied = (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> =>
    globalThis.fetch(input, { ...init, dispatcher });
  return Object.assign(proxied, { dispatcher }) as ProxiedFetch;
}

let shared: ProxyDispatcher | undefined;

/** The process-wide dispatcher that follows the environment (created on first use). */
export function getDefaultDispatcher(): ProxyDispatcher {
  shared ??= new ProxyDispatcher();
  return shared;
}

/**
 * The seed's `get_httpx_kwargs(url)`: the init to spread into one `fetch` call. The route is decided
 * per request by the dispatcher, so the URL is accepted for parity and not needed.
 */
export function getFetchInit(_url?: string | URL, options?: ProxyDispatcherOptions): { dispatcher: ProxyDispatcher } {
  if (!options) return { dispatcher: getDefaultDispatcher() };
  // One dispatcher per options object, so calling this per request reuses connections instead of leaking pools.
  let dispatcher = byOptions.get(options);
  if (!dispatcher) {
    dispatcher = new ProxyDispatcher(options);
    byOptions.set(options, dispatcher);
  }
  return { dispatcher };
}

const byOptions = new WeakMap<ProxyDispatcherOptions, ProxyDispatcher>();
