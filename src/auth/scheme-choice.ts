import { PROXY_AUTH_SETTINGS, parseProxyAuthSetting, type ProxyAuthSetting } from '../config/proxy-auth-setting.js';

export { PROXY_AUTH_SETTINGS, parseProxyAuthSetting, type ProxyAuthSetting };

export interface SchemeInputs {
  /** Schemes the proxy's 407 offered, lower case, any order. */
  readonly offered: readonly string[];
  readonly setting: ProxyAuthSetting;
  /** Negotiate is on (JAATO_KERBEROS_PROXY / the `kerberos` option). */
  readonly kerberos: boolean;
  /** The proxy URL (or the caller) gave a user name and password. */
  readonly credentials: boolean;
  /** Why Negotiate could not make a token on this connection, once it was tried (the error's code). */
  readonly negotiateFailed?: string | undefined;
  /** Why NTLM could not make a token, once it was tried. */
  readonly ntlmFailed?: string | undefined;
}

export type SchemeChoice =
  | { readonly scheme: 'negotiate' | 'ntlm' | 'basic'; readonly reason: string }
  | { readonly scheme: undefined; readonly reason: string };

/**
 * Which scheme answers a proxy's 407. Pure; the table in test/auth/scheme-choice.test.ts is its spec.
 * Preference, strongest first: Negotiate (Kerberos: no password on the wire, the proxy proven by mutual
 * authentication), NTLM (a challenge-response, the password never sent), Basic (the password in every
 * request). NTLM is used only where Negotiate cannot make a token (not offered, turned off, or it
 * failed on this machine), and the reason says which, for the debug log and for explain/doctor.
 * JAATO_PROXY_AUTH pins one scheme: the others are then never tried.
 */
export function chooseProxyScheme(s: SchemeInputs): SchemeChoice {
  const offered = new Set(s.offered.map((o) => o.toLowerCase()));
  const pinned = s.setting !== 'any' ? ` (JAATO_PROXY_AUTH=${s.setting})` : '';
  const allowed = (scheme: 'negotiate' | 'ntlm' | 'basic'): boolean => s.setting === 'any' || s.setting === scheme;
  const why: string[] = [];

  if (allowed('negotiate') && offered.has('negotiate')) {
    if (!s.kerberos) why.push('Negotiate is off (JAATO_KERBEROS_PROXY)');
    else if (s.negotiateFailed) why.push(`Negotiate could not make a token (${s.negotiateFailed})`);
    else return { scheme: 'negotiate', reason: `the proxy offers Negotiate${pinned}` };
  } else if (s.setting === 'negotiate') {
    return { scheme: undefined, reason: `JAATO_PROXY_AUTH=negotiate but the proxy offers ${list(offered)}` };
  }

  if (allowed('ntlm') && offered.has('ntlm')) {
    if (s.ntlmFailed) why.push(`NTLM could not make a token (${s.ntlmFailed})`);
    else return { scheme: 'ntlm', reason: `the proxy offers NTLM${pinned}${why.length ? `; ${why.join('; ')}` : ''}${s.credentials ? ', with the given credentials' : ', with the platform\'s credentials'}` };
  } else if (s.setting === 'ntlm') {
    return { scheme: undefined, reason: `JAATO_PROXY_AUTH=ntlm but the proxy offers ${list(offered)}` };
  }

  if (allowed('basic') && offered.has('basic')) {
    if (s.credentials) return { scheme: 'basic', reason: `the proxy offers Basic${pinned}${why.length ? `; ${why.join('; ')}` : ''}` };
    why.push('Basic needs a user and password in the proxy URL');
  } else if (s.setting === 'basic') {
    return { scheme: undefined, reason: `JAATO_PROXY_AUTH=basic but the proxy offers ${list(offered)}` };
  }

  if (offered.size === 0) return { scheme: undefined, reason: 'the 407 carried no Proxy-Authenticate challenge' };
  if (why.length) return { scheme: undefined, reason: why.join('; ') };
  return { scheme: undefined, reason: `none of the offered schemes (${list(offered)}) is one jaato-proxy speaks (Negotiate, NTLM, Basic)` };
}

function list(offered: ReadonlySet<string>): string {
  return offered.size ? [...offered].join(', ') : 'no scheme';
}
