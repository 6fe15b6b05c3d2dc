/**
 * The 407 state machine's decisions, kept pure: given what the proxy offered and what was tried, what
 * to send next, or why to give up. The I/O around it lives in proxy-authenticator.ts.
 */

/** At most this many answers to 407s per connection attempt (the first request is not counted). */
export const MAX_AUTH_RETRIES = 2;

export type SentScheme = 'negotiate' | 'basic' | 'none';

export interface AuthState {
  /** Schemes the proxy offered in its 407, lower case. */
  offered: readonly string[];
  /** The user enabled Kerberos (JAATO_KERBEROS_PROXY / options.kerberos). */
  kerberos: boolean;
  /** The proxy URL carries Basic credentials. */
  hasBasicCredentials: boolean;
  /** What the request that got this 407 carried. */
  lastSent: SentScheme;
  /** How many 407s have been answered already. */
  retries: number;
}

export type AuthDecision = { action: 'negotiate' } | { action: 'basic' } | { action: 'fail'; reason: string };

export function decideOn407(s: AuthState): AuthDecision {
  const negotiate = s.offered.includes('negotiate');
  const basic = s.offered.includes('basic');
  if (s.retries >= MAX_AUTH_RETRIES) {
    return { action: 'fail', reason: `still refused after ${s.retries + 1} attempts; ${refusedHint(s.lastSent)}` };
  }
  if (negotiate && s.kerberos) return { action: 'negotiate' };
  if (basic && s.hasBasicCredentials && s.lastSent !== 'basic') return { action: 'basic' };
  if (basic && s.lastSent === 'basic') return { action: 'fail', reason: 'the proxy refused the Basic credentials from the proxy URL' };
  if (negotiate && !s.kerberos) {
    return {
      action: 'fail',
      reason: 'the proxy wants Kerberos (Negotiate) but it is off: set JAATO_KERBEROS_PROXY=true (or the `kerberos` option)' +
        (basic ? ', or put Basic credentials in the proxy URL' : ''),
    };
  }
  if (basic) return { action: 'fail', reason: 'the proxy wants Basic credentials: put them in the proxy URL (http://user:password@proxy:port)' };
  if (s.offered.length === 0) return { action: 'fail', reason: 'the 407 carried no Proxy-Authenticate challenge' };
  return { action: 'fail', reason: 'none of the offered schemes is supported (Negotiate and Basic are)' };
}

function refusedHint(lastSent: SentScheme): string {
  if (lastSent === 'negotiate') {
    return 'the proxy did not accept our Negotiate tokens. Usual causes: the proxy\'s keytab lacks the SPN we asked for ' +
      '(set JAATO_KERBEROS_SPN to the name the proxy uses), a clock skew over 5 minutes, or a ticket for another realm';
  }
  if (lastSent === 'basic') return 'the proxy refused the Basic credentials from the proxy URL';
  return 'no credentials could be sent';
}
