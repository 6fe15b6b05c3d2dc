import type { Env } from './env.js';
import { InvalidOptionError } from './errors.js';

/** JAATO_PROXY_AUTH's values: pin one scheme, or `any` (the default) to let the proxy's offer decide. */
export const PROXY_AUTH_SETTINGS = ['negotiate', 'ntlm', 'basic', 'any'] as const;
export type ProxyAuthSetting = (typeof PROXY_AUTH_SETTINGS)[number];

/** The `proxyAuth` option when given, else JAATO_PROXY_AUTH; `any` when unset or empty. A typed error names the one at fault. */
export function parseProxyAuthSetting(env: Env, option?: string): ProxyAuthSetting {
  const from = option !== undefined ? 'proxyAuth' : 'JAATO_PROXY_AUTH';
  const raw = (option ?? env.JAATO_PROXY_AUTH ?? '').trim().toLowerCase();
  if (raw === '') return 'any';
  if ((PROXY_AUTH_SETTINGS as readonly string[]).includes(raw)) return raw as ProxyAuthSetting;
  throw new InvalidOptionError(from, `must be one of ${PROXY_AUTH_SETTINGS.join(', ')}, got "${raw.slice(0, 40)}"`);
}

/**
 * Which scheme would answer a proxy's 407, before its offer is known: what explain prints. The choice
 * itself, once the offer is known, is `chooseProxyScheme` (auth/scheme-choice.ts), in the same order.
 */
export function schemePreference(setting: ProxyAuthSetting, kerberos: boolean, credentials: boolean): string {
  const negotiate = kerberos ? 'Negotiate (Kerberos)' : undefined;
  const ntlm = `NTLM (${credentials ? "the proxy URL's DOMAIN\\user" : "the platform's credentials: the logged-on user on Windows, NTLM_USER_FILE or winbind's cached logon elsewhere"})`;
  const basic = credentials ? "Basic (the proxy URL's user)" : undefined;
  if (setting === 'negotiate') return kerberos ? 'Negotiate only (JAATO_PROXY_AUTH=negotiate)' : 'nothing: JAATO_PROXY_AUTH=negotiate but Kerberos is off (JAATO_KERBEROS_PROXY)';
  if (setting === 'ntlm') return `${ntlm} only (JAATO_PROXY_AUTH=ntlm)`;
  if (setting === 'basic') return basic ? 'Basic only (JAATO_PROXY_AUTH=basic)' : 'nothing: JAATO_PROXY_AUTH=basic but the proxy URL has no user';
  const order = [negotiate, ntlm, basic].filter((s): s is string => s !== undefined);
  return `the first the proxy offers of: ${order.join(', then ')}${negotiate ? '; NTLM only where Negotiate cannot make a token' : ''}`;
}
