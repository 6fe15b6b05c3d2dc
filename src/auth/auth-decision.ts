/**
 * The 407 state machine's decisions, kept pure: given what the proxy offered and what was tried, what
 * to send next, or why to give up. The session that makes the tokens is transport/proxy-auth-session.ts,
 * and the exchange that asks for them transport/proxy-exchange.ts.
 */

/** At most this many answers to 407s per connection attempt (the first request is not counted). */
export const MAX_AUTH_RETRIES = 2;

/** What an attempt carried: `ntlm` is any leg of an NTLM handshake. */
export type SentScheme = 'negotiate' | 'ntlm' | 'basic' | 'none';

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
  return { action: 'fail', reason: 'none of the offered schemes is supported (Negotiate, NTLM and Basic are)' };
}

function refusedHint(lastSent: SentScheme): string {
  if (lastSent === 'negotiate') {
    return 'the proxy did not accept our Negotiate tokens. Usual causes: the proxy\'s keytab lacks the SPN we asked for ' +
      '(set JAATO_KERBEROS_SPN to the name the proxy uses), the proxy\'s keytab lacks the key the KDC used (its key version (kvno) or ' +
      'encryption type is out of date after a password change: compare `klist -e` here with `klist -ket` on the proxy), ' +
      'a clock skew over 5 minutes, or a ticket for another realm';
  }
  if (lastSent === 'basic') return 'the proxy refused the Basic credentials from the proxy URL';
  if (lastSent === 'ntlm') return 'the proxy refused our NTLM credentials';
  return 'no credentials could be sent';
}

/**
 * Sizes of a `Proxy-Authorization` line (bytes) past which servers commonly refuse it: Apache's
 * default `LimitRequestFieldSize` (8190) and IIS/HTTP.sys's `MaxFieldLength` (16 KB). A Kerberos
 * ticket from Active Directory carries the account's groups (its PAC, ~11 bytes of header per group),
 * so users in ~700 groups pass the first and ~1,400 the second.
 */
export const LARGE_AUTH_HEADER = 8 * 1024;
export const VERY_LARGE_AUTH_HEADER = 16 * 1024;

/**
 * Whether a non-407 answer to a request that carried our token refuses the request's size rather than
 * the target: 431 (RFC 6585) and nginx's 494 always name the head's size; 400 (Squid, for any field over
 * 64 KB; Apache past `LimitRequestFieldSize`) and 413 only when our header is large and the answer is
 * the proxy's own (`proxysOwn`: any answer to CONNECT; a forwarded one Squid marks with X-Squid-Error),
 * else they are the origin's answer to the request, which the caller must get.
 */
export function refusedForSize(statusCode: number, sent: SentScheme, headerBytes: number, proxysOwn: boolean): boolean {
  if (sent !== 'negotiate') return false;
  if (statusCode === 431 || statusCode === 494) return true;
  return proxysOwn && (statusCode === 400 || statusCode === 413) && headerBytes > LARGE_AUTH_HEADER;
}
