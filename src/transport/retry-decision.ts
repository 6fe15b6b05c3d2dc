import { JaatoProxyError } from '../errors.js';
import { ProxyTunnelError } from './errors.js';

/**
 * When a request that failed on its way through a proxy is sent again. Pure: the handlers that act
 * on it (undici's retry handler, serve's CONNECT) do the I/O, the waiting and the reporting.
 *
 * Only failures where no byte of the answer arrived, because the connection to the proxy was refused
 * or broke, are retried:
 * - `refused`: the proxy refused a new connection (ECONNREFUSED, or a reset while connecting): nothing was sent, so any request
 *   whose body can be sent again goes again (this waits out a short proxy restart);
 * - `tunnel-closed`: the proxy closed the connection before answering CONNECT: nothing of the request
 *   reached the origin, so the same holds;
 * - `closed`: the connection was reset or closed (ECONNRESET, EPIPE, undici's "other side closed")
 *   after the request may have been sent: only an idempotent method (RFC 9110 §9.2.2) goes again.
 *   A POST whose bytes may have reached the proxy is never sent twice.
 * Timeouts are not retried (their bound is the caller's), nor aborts, nor any HTTP answer.
 * The time budget runs from the request's first failure, not from its start: the time it waited for a
 * connection, a token or a slow answer before the proxy cut it is no outage (a kept-alive connection
 * Apache closes as a request arrives cuts, on a loaded machine, requests that had queued 3 s and more
 * behind others); RETRY_BUDGET bounds the time spent waiting out the failure.
 */

export type RetryReason = 'refused' | 'closed' | 'tunnel-closed';

export type RetryDecision = { retry: true; reason: RetryReason; delay: number } | { retry: false; reason: RetryReason | 'not-a-connection-failure' | 'response-started' | 'not-idempotent' | 'body-not-replayable' | 'attempts' | 'budget' };

/** Waits before the 2nd, 3rd, 4th and 5th attempt (ms); each stretched by up to 25 % of jitter. */
export const RETRY_DELAYS: readonly number[] = [50, 150, 400, 1000];
/**
 * No retry starts later than this after the request's first failure (ms). It must outlast one attempt
 * on a loaded machine: a retry that waits for a connection and a Kerberos token took 3 s in the soak
 * at load 10 before Apache cut it again (then it was refused at 3 s). Past it, a request that keeps being
 * cut after long attempts (a slow answer) is not sent again and again.
 */
export const RETRY_BUDGET = 10_000;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

const CLOSED = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/** The retryable kind of failure `error` is (looked for along its `cause` chain), if any. */
export function connectionFailure(error: unknown): RetryReason | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'UND_ERR_ABORTED' || e.name === 'AbortError' || code === 'ABORT_ERR') return undefined;
    if (code === 'ERR_JAATO_PROXY_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return undefined;
    if (code === 'ECONNREFUSED') return 'refused';
    // Reset while connecting (a proxy killed as it accepted): the connection never opened, nothing was sent.
    if (typeof code === 'string' && CLOSED.has(code) && (e as { syscall?: unknown }).syscall === 'connect') return 'refused';
    if (typeof code === 'string' && CLOSED.has(code)) return 'closed';
    // The proxy closed during CONNECT (no status: it answered nothing); a status is an answer, not retried.
    if (e instanceof ProxyTunnelError) return e.statusCode === undefined ? 'tunnel-closed' : undefined;
    // Our other errors (auth, Kerberos, configuration, mutual auth) are final, whatever their cause.
    if (e instanceof JaatoProxyError && e.code !== 'ERR_JAATO_PROXY_CONNECT') return undefined;
  }
  return undefined;
}

/**
 * Whether to send a failed request again, and after how long. `attempt` counts the attempts made so
 * far (1 after the first failed), `sinceFirstFailure` the ms since the first attempt failed (0 when
 * deciding on that one, however long it ran), `jitter` is in [0, 1).
 */
export function decideRetry(method: string, bodyReplayable: boolean, error: unknown, responseStarted: boolean, attempt: number, sinceFirstFailure: number, jitter = 0): RetryDecision {
  if (responseStarted) return { retry: false, reason: 'response-started' };
  const reason = connectionFailure(error);
  if (reason === undefined) return { retry: false, reason: 'not-a-connection-failure' };
  if (reason === 'closed' && !IDEMPOTENT.has(method.toUpperCase())) return { retry: false, reason: 'not-idempotent' };
  if (!bodyReplayable) return { retry: false, reason: 'body-not-replayable' };
  const base = RETRY_DELAYS[attempt - 1];
  if (base === undefined) return { retry: false, reason: 'attempts' };
  const delay = Math.round(base * (1 + 0.25 * Math.min(Math.max(jitter, 0), 1)));
  if (sinceFirstFailure + delay > RETRY_BUDGET) return { retry: false, reason: 'budget' };
  return { retry: true, reason, delay };
}

/** Whether a method may be sent twice with the same effect (RFC 9110 §9.2.2). */
export function idempotent(method: string): boolean {
  return IDEMPOTENT.has(method.toUpperCase());
}
