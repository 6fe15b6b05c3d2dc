import { isIP } from 'node:net';
import type { Env } from '../config/env.js';
import type { ProxyConfig, ProxyRoute } from '../config/proxy-config.js';
import { kerberosPlatform } from '../config/platform.js';
import { defaultSpn } from '../config/spn.js';
import { loadSecurityProvider } from '../auth/native/load.js';
import { NegotiateContext } from '../auth/spnego.js';
import { tokenRemedy, tokenSizeCheck, type SpnState } from './advice.js';
import { credentialsCheck, credentialsSource, type CredentialsEvidence, type CredentialsSource } from './credentials.js';
import type { Check } from './check.js';
import { readCacheFile, readCredential, type CredentialState } from './ticket-cache.js';

/** What doctor found about Kerberos: the `kerberos` object of `doctor --json`. */
export interface KerberosFacts {
  /** JAATO_KERBEROS_PROXY (or --proxy-negotiate) is on. */
  enabled: boolean;
  /** The service name asked for, in the platform's form; null when Kerberos is off or there is no proxy. */
  spn: string | null;
  /** `JAATO_KERBEROS_SPN` when it set the name, `proxy host` otherwise; null with `spn`. */
  spnSource: string | null;
  /** The client principal the Kerberos library reports (or the cache file names, for an expired ticket); null when none was seen. */
  principal: string | null;
  /** Where the credentials come from; null when that is not known (no token, no listing). */
  credentials: CredentialsSource | null;
  /** Whether a token for `spn` was made: the proof of the credentials. */
  token: 'made' | 'failed' | 'not tried';
}

export const KERBEROS_OFF: Readonly<KerberosFacts> = { enabled: false, spn: null, spnSource: null, principal: null, credentials: null, token: 'not tried' };

/**
 * doctor's Kerberos lines for the proxy it checks (`proxy`: the URL's, else the https one): the
 * switch, the security library in use, the credentials (as that library reports them) and where they
 * come from, the service name, and a real token for it, which is the proof of the credentials whatever
 * holds them (a ticket cache, a client keytab, the Windows logon).
 */
export async function checkKerberos(
  config: ProxyConfig,
  proxy: ProxyRoute | undefined,
  options: { env: Env; platform: NodeJS.Platform; tokenTimeout?: number | undefined; switchName?: string | undefined },
): Promise<{ checks: Check[]; facts: KerberosFacts; spn: SpnState | undefined }> {
  const { env, platform } = options;
  const facts: KerberosFacts = { ...KERBEROS_OFF };
  if (!config.kerberos) {
    const off: Check = { name: 'kerberos', status: 'skip', detail: 'JAATO_KERBEROS_PROXY is off: no Negotiate', remedy: 'export JAATO_KERBEROS_PROXY=true if the proxy wants Kerberos' };
    return { checks: [off], facts, spn: undefined };
  }
  const checks: Check[] = [{ name: 'kerberos', status: 'ok', detail: `${options.switchName ?? 'JAATO_KERBEROS_PROXY'} is on` }];
  facts.enabled = true;
  const spn = proxy && spnStateOf(config, proxy, platform);
  if (proxy?.spn) {
    facts.spn = proxy.spn;
    facts.spnSource = config.spnSource ?? 'proxy host';
  }
  const library = await libraryCheck(platform, env);
  checks.push(library);

  const processEnv = env as NodeJS.ProcessEnv;
  // The cache file first: asking the library may fill it from a client keytab.
  const cache = await readCacheFile(processEnv, platform);
  const before: CredentialState = { ...(await readCredential(processEnv)), cache };
  const seen = before.credential.state === 'valid' ? before.credential.principal : cache?.contents?.principal;
  let token: Check | undefined;
  let size: Check | undefined;
  if (proxy && spn && library.status === 'ok') {
    try {
      const made = await NegotiateContext.start(spn.spn, { platform, ...(options.tokenTimeout !== undefined && { timeout: options.tokenTimeout }) });
      // The principal the library asked the KDC for: DNS canonicalization (MIT's rdns) may have changed the name.
      const principal = await made.targetName();
      made.dispose();
      const asked = principal ? `; the library asked the KDC for ${principal}` : '';
      const raw = Buffer.from(made.token, 'base64').length;
      token = { name: 'token', status: 'ok', detail: `a ${raw}-byte SPNEGO token for ${spn.spn} (not shown)${asked}` };
      size = tokenSizeCheck(raw);
    } catch (err) {
      const remedy = tokenRemedy(err, spn, seen);
      token = { name: 'token', status: 'fail', detail: err instanceof Error ? err.message : String(err), ...(remedy && { remedy }) };
    }
  }
  const evidence: CredentialsEvidence = {
    before,
    token: token === undefined ? 'not tried' : token.status === 'ok' ? 'made' : 'failed',
    clientKeytab: env.KRB5_CLIENT_KTNAME,
    platform,
    now: Math.floor(Date.now() / 1000),
  };
  checks.push(credentialsCheck(evidence));
  facts.token = evidence.token;
  facts.principal = seen ?? null;
  facts.credentials = credentialsSource(evidence) ?? null;
  checks.push(spn ? { name: 'spn', status: 'ok', detail: `${spn.spn} (${spn.source ?? 'from the proxy host'})` } : { name: 'spn', status: 'skip', detail: 'no proxy, no service principal' });
  if (token) checks.push(token);
  if (size) checks.push(size);
  return { checks, facts, spn };
}

/** What the remedies need to know of a proxy's service name: where it came from, and what the host alone gives. */
export function spnStateOf(config: ProxyConfig, proxy: ProxyRoute, platform: NodeJS.Platform): SpnState | undefined {
  if (!proxy.spn) return undefined;
  const host = proxy.proxy.hostname;
  return { spn: proxy.spn, source: config.spnSource, hostDefault: defaultSpn(host, platform), ipLiteral: isIP(host) !== 0 };
}

/** The security library line: which one answered (family, version, file), or what was tried. */
async function libraryCheck(platform: NodeJS.Platform, env: Env): Promise<Check> {
  const name = 'kerberos library';
  try {
    const { info } = await loadSecurityProvider({ env });
    const family = { mit: 'MIT krb5', heimdal: 'Heimdal', apple: "Apple's GSS.framework", sspi: 'Windows SSPI' }[info.family];
    return { name, status: 'ok', detail: `${family}${info.version ? ` ${info.version}` : ''} ${info.api} (${info.library})` };
  } catch (err) {
    const detail = `no Kerberos library loaded: ${err instanceof Error ? err.message : String(err)}`;
    return { name, status: 'fail', detail, remedy: kerberosPlatform(platform).remedies.libraryMissing };
  }
}
