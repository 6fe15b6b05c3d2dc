import { channel } from 'node:diagnostics_channel';
import { debug } from '../debug.js';
import type { RetryReason } from './retry-decision.js';

/**
 * Each retry is published here as `{ method, proxy, attempt, reason, delay }`: the proxy redacted,
 * `attempt` the number of the attempt about to be made (2 for the first retry). Never headers, a path
 * or a token.
 */
export const retryChannel = channel('jaato-proxy:retry');

export interface RetryEvent {
  method: string;
  /** The proxy's URL, credentials redacted. */
  proxy: string;
  attempt: number;
  reason: RetryReason;
  /** ms waited before the attempt. */
  delay: number;
}

/** Reports a retry on the debug log and the channel. */
export function reportRetry(event: RetryEvent, code: string | undefined): void {
  debug('%s via %s: %s%s, attempt %d in %d ms', event.method, event.proxy, event.reason, code ? ` (${code})` : '', event.attempt, event.delay);
  if (retryChannel.hasSubscribers) retryChannel.publish(event);
}

/**
 * A connection failure not sent again, and why (`reason`: the rule that said no), on the debug log
 * only: a failed request the reader wonders about says which rule kept it from a retry.
 */
export function reportNoRetry(method: string, proxy: string, reason: string, attempt: number, elapsed: number, code: string | undefined): void {
  debug('%s via %s: not sent again (%s%s) after attempt %d, %d ms', method, proxy, reason, code ? `, ${code}` : '', attempt, Math.round(elapsed));
}

/** The first error code along `error`'s cause chain, for the debug line. */
export function errorCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('ERR_JAATO')) return code;
  }
  return undefined;
}
