import type { Dispatcher } from 'undici';

/**
 * The caller's handler, seen through a wrapper that holds back an error arriving before the request
 * started (no `onConnect`/`onRequestStart` yet: no byte went out, the body is untouched) when `retry`
 * takes it, so that the request can go to a PAC's next entry instead. Everything else reaches the
 * handler as it came. A `Proxy` forwards the members undici reads, so both the handler API of
 * undici 7 and the legacy one (Node's bundled fetch) keep working.
 */
export function failoverHandler(handler: Dispatcher.DispatchHandler, retry: (error: Error) => boolean): Dispatcher.DispatchHandler {
  let started = false;
  return new Proxy(handler, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (key === 'onConnect' || key === 'onRequestStart') {
        return (...args: unknown[]) => {
          started = true;
          return fn.apply(target, args);
        };
      }
      if (key === 'onError') return (error: Error) => (!started && retry(error) ? undefined : fn.call(target, error));
      if (key === 'onResponseError') return (controller: unknown, error: Error) => (!started && retry(error) ? undefined : fn.call(target, controller, error));
      return fn.bind(target);
    },
  });
}
