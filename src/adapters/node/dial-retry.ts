import type { Route } from '../../config/proxy-config.js';
import { decideRetry } from '../../transport/retry-decision.js';
import { errorCode, reportNoRetry, reportRetry } from '../../transport/retry-report.js';

/** When the first attempt failed (performance.now()) and how many were made: the budget is shared. */
export interface RetryClock {
  firstFailure: number | undefined;
  attempts: number;
}

/**
 * Opens a route agent's connection, waiting out a short proxy outage as serve's CONNECT does: a
 * refused dial, or a proxy that closed before answering CONNECT, is tried again (retry-decision.ts,
 * same budget), since nothing of the request has left yet: node:http's bytes wait in the
 * PendingConnection. `method` names the request in the report ('CONNECT' for a tunnel). The
 * request's destroy (`signal`) ends the wait at once. `clock` counts the attempts against the budget:
 * a new one per connection, or the one of a request being sent again on a new connection.
 */
export async function openWithRetry<T>(routes: readonly Route[], method: string, signal: AbortSignal, open: () => Promise<T>, clock: RetryClock = { firstFailure: undefined, attempts: 0 }): Promise<T> {
  for (;;) {
    const attempt = ++clock.attempts;
    try {
      return await open();
    } catch (error) {
      const now = performance.now();
      clock.firstFailure ??= now;
      const decision = decideRetry(method, true, error, false, attempt, now - clock.firstFailure, Math.random());
      const upstream = routes.find((r) => r.type === 'proxy');
      if (!decision.retry || !upstream || signal.aborted) {
        if (!decision.retry && upstream && decision.reason !== 'not-a-connection-failure') reportNoRetry(method, upstream.proxy.redacted, decision.reason, attempt, now - clock.firstFailure, errorCode(error));
        throw error;
      }
      reportRetry({ method, proxy: upstream.proxy.redacted, attempt: attempt + 1, reason: decision.reason, delay: decision.delay }, errorCode(error));
      await wait(decision.delay, signal);
    }
  }
}

/** `ms`, or until `signal` aborts (then rejects with its reason). */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
