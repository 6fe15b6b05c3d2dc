import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { tokenChannel } from '../auth/spnego.js';

/**
 * Counts the fresh Negotiate tokens the library makes for `spn` from now until `stop()`, from its
 * `jaato-proxy:spnego-token` channel (which carries the service name, never the token). doctor makes
 * one request at a time, so the tokens counted are that request's: the structured evidence of what
 * was sent, and of a 407 answered with another token.
 */
export function countTokens(spn: string | undefined): { readonly count: number; stop(): void } {
  let count = 0;
  const onToken = (m: unknown): void => {
    if (spn !== undefined && (m as { spn?: unknown }).spn === spn) count++;
  };
  subscribe(tokenChannel.name, onToken);
  return {
    get count() {
      return count;
    },
    stop: () => void unsubscribe(tokenChannel.name, onToken),
  };
}
