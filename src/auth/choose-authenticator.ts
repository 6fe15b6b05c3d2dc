import type { ProxyAuthSetting } from '../config/proxy-auth-setting.js';
import { debug } from '../debug.js';
import { JaatoProxyError } from '../errors.js';
import type { ProxyAuthenticator } from './authenticator.js';
import { NegotiateAuthenticator } from './negotiate-authenticator.js';
import { NtlmAuthenticator } from './ntlm.js';
import { chooseProxyScheme, type SchemeChoice, type SchemeInputs } from './scheme-choice.js';
import type { TokenOptions } from './spnego.js';

export interface StartAuthenticatorOptions extends TokenOptions {
  /** The schemes the proxy's 407 offered, lower case. */
  offered: readonly string[];
  /** JAATO_PROXY_AUTH (ProxyConfig.proxyAuth). */
  setting: ProxyAuthSetting;
  /** Negotiate is on (ProxyConfig.kerberos). */
  kerberos: boolean;
  /** The Negotiate service name, in the platform's form (the route's `spn`, or `spnFor`). */
  spn: string;
  /** The proxy's host, which NTLM's messages name. */
  proxyHost: string;
  /** The proxy URL's user and password (a ProxyCredentials): NTLM's `DOMAIN\user`, or Basic's. */
  credentials?: { readonly username: string; readonly password: string } | undefined;
}

/** What answers the 407: an authenticator with its first token, Basic, or nothing (with why, and each scheme's error). */
export type StartedAuthenticator =
  | { readonly scheme: 'negotiate' | 'ntlm'; readonly authenticator: ProxyAuthenticator; readonly token: string; readonly choice: SchemeChoice }
  | { readonly scheme: 'basic'; readonly choice: SchemeChoice }
  | { readonly scheme: undefined; readonly choice: SchemeChoice; readonly errors: readonly JaatoProxyError[] };

/**
 * The I/O around `chooseProxyScheme`: starts the chosen scheme's authenticator and, where it cannot
 * make a token, chooses again without it (Negotiate → NTLM → Basic as the policy allows), saying so in
 * the debug log. For one proxy connection: NTLM's next legs must go on the connection that carried the
 * first token.
 */
export async function startProxyAuthenticator(options: StartAuthenticatorOptions): Promise<StartedAuthenticator> {
  const { offered, setting, kerberos, spn, proxyHost, credentials, ...token } = options;
  const inputs: { -readonly [K in keyof SchemeInputs]: SchemeInputs[K] } = { offered, setting, kerberos, credentials: credentials !== undefined };
  const errors: JaatoProxyError[] = [];
  for (;;) {
    const choice = chooseProxyScheme(inputs);
    debug('proxy auth for %s: %s (%s)', proxyHost, choice.scheme ?? 'no scheme', choice.reason);
    if (choice.scheme === undefined) return { scheme: undefined, choice, errors };
    if (choice.scheme === 'basic') return { scheme: 'basic', choice };
    let authenticator: ProxyAuthenticator | undefined;
    try {
      authenticator = choice.scheme === 'negotiate' ? new NegotiateAuthenticator(spn, token) : new NtlmAuthenticator(proxyHost, { ...token, credentials });
      return { scheme: choice.scheme, authenticator, token: await authenticator.start(), choice };
    } catch (error) {
      authenticator?.dispose();
      // An abort, or anything not a mechanism's own failure, ends the choice.
      if (!(error instanceof JaatoProxyError) || (token.signal?.aborted && error === token.signal.reason)) throw error;
      errors.push(error);
      debug('proxy auth for %s: %s could not make a token (%s): choosing again without it', proxyHost, choice.scheme === 'negotiate' ? 'Negotiate' : 'NTLM', error.code);
      if (choice.scheme === 'negotiate') inputs.negotiateFailed = error.code;
      else inputs.ntlmFailed = error.code;
    }
  }
}
