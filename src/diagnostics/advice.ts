import { KerberosError, KerberosUnknownSpnError } from '../auth/errors.js';
import { NtlmError } from '../auth/ntlm-errors.js';
import { chooseProxyScheme, type ProxyAuthSetting } from '../auth/scheme-choice.js';
import { JaatoProxyError } from '../errors.js';
import { decideOn407, LARGE_AUTH_HEADER, VERY_LARGE_AUTH_HEADER } from '../auth/auth-decision.js';
import { ProxyAuthenticationError, ProxyHeaderTooLargeError, ProxyMutualAuthError, ProxyTimeoutError, ProxyTunnelError } from '../transport/errors.js';
import { withPrincipal } from './credentials.js';
import { certificateProblem, certificateRemedy, DNS, errorCodes, NOT_TLS, REFUSED } from './error-codes.js';
import type { Check } from './check.js';

/**
 * doctor's judgements, pure: what a probe of the proxy, an authenticated attempt or a failed
 * connection means, and the remedy that fits the state that was seen. The I/O is in proxy-checks.ts.
 */

/** Scheme names as the specifications spell them (`NTLM`, not `Ntlm`). */
export function schemeName(scheme: string): string {
  const known: Record<string, string> = { negotiate: 'Negotiate', basic: 'Basic', ntlm: 'NTLM', digest: 'Digest', kerberos: 'Kerberos' };
  return known[scheme.toLowerCase()] ?? scheme.charAt(0).toUpperCase() + scheme.slice(1);
}

/** What the proxy and the configuration say about authentication, as seen by doctor. */
export interface AuthSetting {
  /** JAATO_KERBEROS_PROXY (or the option) is on. */
  kerberos: boolean;
  /** The proxy URL carries Basic credentials. */
  basicCredentials: boolean;
  /** The variable or option the proxy came from (`HTTPS_PROXY`, `-x/--proxy`). */
  variable: string;
}

/** The remedy when the proxy asks for schemes that are not configured; undefined when one of them is. */
export function unmetOffer(offered: readonly string[], s: AuthSetting): string | undefined {
  // Met or not is the transport's own decision on a first 407; the words here are doctor's.
  if (decideOn407({ offered, kerberos: s.kerberos, hasBasicCredentials: s.basicCredentials, lastSent: 'none', retries: 0 }).action !== 'fail') return undefined;
  // NTLM answers with the proxy URL's DOMAIN\user or the platform's credentials; whether it may (JAATO_PROXY_AUTH) is the `scheme` line's.
  if (offered.includes('ntlm')) return undefined;
  const negotiate = offered.includes('negotiate');
  const basic = offered.includes('basic');
  if (negotiate) return `the proxy wants Kerberos (Negotiate) and it is off: export JAATO_KERBEROS_PROXY=true${basic ? ', or put Basic credentials in the proxy URL' : ''}`;
  if (basic) return `the proxy wants Basic credentials: put them in ${s.variable} (http://user:password@host:port)`;
  if (offered.length === 0) return 'the 407 carries no Proxy-Authenticate challenge, so there is no scheme to answer: ask the proxy\'s administrators';
  return `none of the offered schemes is one jaato-proxy speaks (Negotiate, NTLM and Basic): ask the proxy's administrators to offer one of those`;
}

/**
 * The `scheme` line: which of the schemes the proxy's 407 offered would answer it, and why (the pure
 * choice the transport makes, JAATO_PROXY_AUTH included). A warning when none would: the `proxy` line
 * above already fails with the remedy where nothing configured meets the offer.
 */
export function schemeCheck(offered: readonly string[], s: { setting: ProxyAuthSetting; kerberos: boolean; credentials: boolean; ntlmMechanism?: string }): Check {
  const choice = chooseProxyScheme({ offered, setting: s.setting, kerberos: s.kerberos, credentials: s.credentials });
  if (choice.scheme === undefined) return { name: 'scheme', status: 'warn', detail: `no scheme would answer the proxy: ${choice.reason}` };
  const through = choice.scheme === 'ntlm' && s.ntlmMechanism ? `; NTLM's mechanism: ${s.ntlmMechanism}` : '';
  return { name: 'scheme', status: 'ok', detail: `${schemeName(choice.scheme)}, because ${choice.reason}${through}` };
}

/** The remedy for a CONNECT the proxy refused for its target, not for want of credentials. */
export function tunnelRefusedRemedy(statusCode: number): string {
  if (statusCode === 403) {
    return "the proxy's rules refuse a tunnel to this host or port (corporate proxies often allow CONNECT to port 443 only): ask its administrators, or put the host in NO_PROXY if it is reachable directly";
  }
  if (statusCode >= 500) return "the proxy could not reach the target: check the URL's host and port (the proxy resolves the name and connects to it)";
  return 'the proxy refuses a tunnel to this target: ask its administrators';
}

/**
 * The line for the unauthenticated probe: what the proxy answered and offers, failing when nothing
 * configured meets it, or (`tunnel`: a CONNECT) when it refuses the target before asking for credentials,
 * which is only a warning for doctor's stand-in target (`standIn`, no URL given): the proxy may refuse
 * that host and still serve the user's.
 */
export function offerCheck(probe: { statusCode: number; statusText: string; ms: number; offered: readonly string[] }, proxy: string, s: AuthSetting, tunnel: boolean, standIn?: string): Check {
  const answered = `${proxy} (${s.variable}) answered ${probe.statusCode} ${probe.statusText} in ${probe.ms} ms`;
  if (probe.statusCode === 407) {
    const detail = `${answered}${probe.offered.length > 0 ? `; offers ${probe.offered.map(schemeName).join(', ')}` : ''}`;
    const unmet = unmetOffer(probe.offered, s);
    return unmet ? { name: 'proxy', status: 'fail', detail, remedy: unmet } : { name: 'proxy', status: 'ok', detail };
  }
  // A forwarded HEAD's answer may be the origin's; a CONNECT's other than 2xx is the proxy's refusal.
  if (tunnel && (probe.statusCode < 200 || probe.statusCode > 299)) {
    if (standIn) {
      return {
        name: 'proxy',
        status: 'warn',
        detail: `${answered} to CONNECT ${standIn} (doctor's stand-in target), without asking for credentials`,
        remedy: `the proxy refuses ${standIn}, so its authentication was not checked: give doctor a URL the proxy serves (jaato-proxy doctor https://<host you use>/)`,
      };
    }
    return { name: 'proxy', status: 'fail', detail: `${answered} to CONNECT, without asking for credentials`, remedy: tunnelRefusedRemedy(probe.statusCode) };
  }
  return { name: 'proxy', status: 'ok', detail: `${answered}; asks for no authentication` };
}

/** The service name doctor asked for and where it came from: the remedy for a refused name depends on it. */
export interface SpnState {
  spn: string;
  /** `JAATO_KERBEROS_SPN` or `options.spn` when set; undefined when it is the proxy host's. */
  source: string | undefined;
  /** The name made from the proxy's host, what an unset variable gives. */
  hostDefault: string;
  /** The proxy is named by an IP address, which Kerberos principals never are. */
  ipLiteral: boolean;
}

/** Why a proxy named by an address gets no token (explain shows it too). */
export const IP_SPN_HINT =
  "the proxy is named by an IP address, and Kerberos names services after host names: use the proxy's host name in its URL, or set JAATO_KERBEROS_SPN=HTTP@<name in the proxy's keytab>";

/** The remedy for a service name the KDC does not know (`unknown`) or the proxy does not accept (`refused`). */
export function spnRemedy(s: SpnState, why: 'unknown' | 'refused'): string {
  const problem = why === 'unknown' ? 'the KDC does not know it' : 'the proxy refuses tokens for it';
  if (s.source) {
    const back = s.spn === s.hostDefault ? '' : `, or unset it to use ${s.hostDefault} (the proxy's host)`;
    return `${s.source} is set to ${s.spn} and ${problem}: correct it to the principal in the proxy's keytab${back}`;
  }
  if (s.ipLiteral) return `${s.spn} comes from the proxy's host and ${problem}: ${IP_SPN_HINT}`;
  return `${s.spn} comes from the proxy's host and ${problem}. If the proxy's principal has another name (an alias, a load balancer), set JAATO_KERBEROS_SPN=HTTP@<name in the proxy's keytab>`;
}

/**
 * The remedy for a failed token: the typed error's, except where doctor knows more (a service name that
 * was set, a principal it saw in the cache).
 */
export function tokenRemedy(error: unknown, spn: SpnState | undefined, principal: string | undefined): string | undefined {
  if (!(error instanceof KerberosError)) return undefined;
  // A name the library rewrote through DNS: no service name setting helps, krb5.conf does (the error's remedy).
  if (error instanceof KerberosUnknownSpnError && error.requestedPrincipal) return error.remedy;
  if (error.code === 'ERR_JAATO_KERBEROS_UNKNOWN_SPN' && spn) return spnRemedy(spn, 'unknown');
  return error.remedy && withPrincipal(error.remedy, principal);
}

/** Where the proxy is, as the remedies name it. */
export interface ProxyPlace {
  variable: string;
  host: string;
  port: number;
  /** An `https://` proxy (TLS to the proxy itself). */
  tls: boolean;
}

/** The remedy for a proxy that could not be reached, by what went wrong underneath. */
export function connectionRemedy(error: unknown, proxy: ProxyPlace): string {
  const c = errorCodes(error);
  const has = (re: RegExp): boolean => c.some((x) => re.test(x));
  const where = `${proxy.host}:${proxy.port}`;
  const certificate = proxy.tls ? certificateProblem(c) : undefined;
  if (error instanceof ProxyTimeoutError) return `no answer from ${where} in time: check ${proxy.variable}, the network or VPN (a longer wait: --timeout <ms>)`;
  if (has(DNS)) return `the proxy's host name ${proxy.host} does not resolve: check ${proxy.variable} (on a VPN? the name may resolve only there)`;
  if (has(REFUSED)) return `nothing accepts connections at ${where}: the proxy is down, or the host or port in ${proxy.variable} is wrong (or a VPN is needed)`;
  if (certificate) {
    return certificateRemedy(certificate, { whose: "the proxy's", host: proxy.host, where: `in ${proxy.variable}`, trust: "--proxy-cacert <file> (the library's proxyCa option)" });
  }
  if (proxy.tls && has(NOT_TLS)) return `the TLS handshake with ${where} failed: if the proxy does not speak TLS there, write http:// in ${proxy.variable}`;
  return `check ${proxy.variable}, the network or VPN`;
}

/** The remedy for a fetch that failed at the origin's TLS (through the tunnel, the certificate is the origin's); undefined for anything else. */
export function originRemedy(error: unknown): string | undefined {
  const problem = certificateProblem(errorCodes(error));
  return problem && certificateRemedy(problem, { whose: "the origin's", host: "the URL's host", where: 'in the URL', trust: "--cacert <file> (the library's ca option)" });
}

/** What answered the proxy's 407 in an attempt that got past it. */
export type Sent = 'negotiate' | 'basic' | 'none';

/**
 * What was sent, from what was made, not from the settings: a Negotiate token counted on the token
 * channel where the proxy offers Negotiate; else the Basic credentials (Kerberos off, or the transport's
 * fallback when the proxy offers Basic and no token could be made, or it offers Basic alone).
 */
export function sentWith(tokens: number, s: AuthSetting, offered: readonly string[]): Sent {
  if (tokens > 0 && (offered.includes('negotiate') || !s.basicCredentials)) return 'negotiate';
  if (s.basicCredentials && (offered.includes('basic') || !s.kerberos)) return 'basic';
  return 'none';
}

/**
 * How the fetch that succeeded got past the proxy, from the tokens made for it (`tokens`) and what the
 * proxy offered doctor's probe. The transport sends a token (or Basic) up front, so a second token
 * means a 407 was answered; a negotiate route that ends on Basic had a 407 too. (One token after a
 * pre-auth that failed to make one would read as pre-authenticated: a KDC that failed and recovered
 * within one request.)
 */
export function fetchAuthNote(auth: 'negotiate' | 'basic' | 'none', tokens: number, s: AuthSetting, offered: readonly string[]): string {
  if (auth === 'basic') return 'Basic credentials sent up front';
  // Nothing went up front, yet the proxy's probe was a 407: the answer to it got the request through
  // (NTLM, or Basic for a DOMAIN\\user, which waits for the offer).
  if (auth === 'none') {
    const answered = offered.length > 0 ? chooseProxyScheme({ offered, setting: 'any', kerberos: false, credentials: s.basicCredentials }).scheme : undefined;
    return answered ? `after a 407, answered with ${schemeName(answered)}` : 'the proxy asked for no authentication';
  }
  if (tokens >= 2) return `after a 407: ${tokens} Negotiate tokens`;
  if (sentWith(tokens, s, offered) === 'basic') return 'after a 407, with Basic credentials';
  return tokens === 1 ? 'pre-authenticated with a Negotiate token, no 407' : 'the proxy asked for no authentication';
}

const NO_ANSWER = /^(ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT)$/;

/**
 * The remedy for a URL routed direct that could not be fetched: what went wrong underneath, and the
 * rule that routed it past the proxy (`rule`, as explain words it), which may be the mistake.
 */
export function directRemedy(error: unknown, rule: string): string {
  const c = errorCodes(error);
  const has = (re: RegExp): boolean => c.some((x) => re.test(x));
  const what = has(DNS) ? "the URL's host name does not resolve here" : has(REFUSED) || has(NO_ANSWER) ? "nothing answers at the URL's host and port from here" : 'the direct connection failed';
  const why = rule.startsWith('no proxy variable')
    ? `it goes direct because ${rule}: if the network needs a proxy, set HTTPS_PROXY/HTTP_PROXY (or -x)`
    : `it goes direct because of ${rule}: if only the proxy reaches it, take it out of that list`;
  return `${what}; ${why}`;
}

/** The outcome of doctor's authenticated request to the proxy, as the transport reported it. */
export type AuthOutcome = { ok: true; answer: string } | { ok: false; error: unknown };

/**
 * The line for the authenticated request: accepted (any answer but a 407: a 5xx for an unreachable
 * target still means the credentials passed), or why not, with the remedy for what was configured.
 */
export function authCheck(outcome: AuthOutcome, what: string, s: AuthSetting & { spn: SpnState | undefined; principal: string | undefined; sent: Sent }, proxy: ProxyPlace): Check {
  const name = 'proxy auth';
  const sent = s.sent === 'negotiate' ? `a Negotiate token for ${s.spn?.spn ?? 'the proxy'}` : s.sent === 'basic' ? 'Basic credentials' : 'no credentials';
  if (outcome.ok) return { name, status: 'ok', detail: `${what} with ${sent}: accepted, ${outcome.answer}` };
  const error = outcome.error;
  if (error instanceof ProxyHeaderTooLargeError) {
    return { name, status: 'fail', detail: `${what ? `${what} with ${sent}: ` : ''}${error.message} [${error.code}]`, remedy: headerSizeRemedy(error.headerBytes) };
  }
  if (error instanceof ProxyTunnelError && error.statusCode !== undefined && s.sent === 'negotiate' && SIZE_REFUSALS.has(error.statusCode)) {
    // An answer that refuses a request's size or shape, to a request carrying a token: not proof it was taken.
    return { name, status: 'warn', detail: `${what} with ${sent}: not counted as accepted, the proxy answered ${error.statusCode} (a refusal of the request's size or shape, not of the target)`, remedy: headerSizeRemedy(undefined) };
  }
  if (error instanceof ProxyTunnelError && error.statusCode !== undefined) {
    // Past authentication: the proxy turned down the target, not the credentials.
    return { name, status: 'ok', detail: `${what} with ${sent}: accepted; the proxy then answered ${error.statusCode} for the target (not an authentication failure)` };
  }
  let detail = error instanceof JaatoProxyError ? `${error.message} [${error.code}]` : error instanceof Error ? error.message : String(error);
  // Authenticated, then the proxy did not prove itself: the remedy is mutual authentication's, not the credentials'.
  if (error instanceof ProxyMutualAuthError) return { name, status: 'fail', detail, remedy: mutualAuthRemedy(error.reason, what.startsWith('CONNECT') ? 'CONNECT' : 'forwarded', s.spn?.spn) };
  if (error instanceof ProxyAuthenticationError) {
    const kerberos = error.cause instanceof KerberosError ? error.cause : undefined;
    // The Kerberos error is the token line's already: here, only that it left the 407 unanswered.
    if (kerberos && what) detail = `${what}: 407, and no token to answer it (${kerberos.code}, see above) [${error.code}]`;
    let remedy: string | undefined;
    if (kerberos) remedy = tokenRemedy(kerberos, s.spn, s.principal);
    else if (error.cause instanceof NtlmError && error.cause.remedy) remedy = error.cause.remedy;
    else if (s.kerberos && error.offered.includes('negotiate') && s.spn) {
      // The transport's reason guesses at causes; here the state is known, and the remedy says which.
      detail = `${what ? `${what}: ` : ''}the proxy answered each Negotiate token for ${s.spn.spn} with another 407 [${error.code}]`;
      remedy = spnRemedy(s.spn, 'refused');
    }
    else if (s.basicCredentials && error.offered.includes('basic')) remedy = `the proxy refused the Basic credentials in ${s.variable}: check the user and password`;
    else remedy = unmetOffer(error.offered, s);
    return { name, status: 'fail', detail, ...(remedy && { remedy }) };
  }
  return { name, status: 'fail', detail, remedy: connectionRemedy(error, proxy) };
}

/** Answers that refuse a request's head (its size or shape) rather than its target. */
const SIZE_REFUSALS = new Set([400, 413, 431, 494]);

/** The remedy for a proxy that refuses the size of a head carrying our token (`bytes`: our header line, when known). */
export function headerSizeRemedy(bytes: number | undefined): string {
  const size = bytes === undefined ? 'the Negotiate header' : `the Negotiate header (${bytes} bytes)`;
  return `${size} grows with the account's group memberships (Active Directory puts them in the Kerberos ticket's PAC, ~11 bytes each): ask the proxy's administrators to raise its header limit (Squid \`request_header_max_size\`, Apache \`LimitRequestFieldSize\`), or reduce the account's group memberships`;
}

/**
 * The `token size` line: the `Proxy-Authorization` header a token of `rawBytes` makes, warned past
 * Apache's default field limit (8 KB) and past IIS's and most proxies' (16 KB).
 */
export function tokenSizeCheck(rawBytes: number): Check {
  const header = 'Proxy-Authorization: Negotiate '.length + Math.ceil(rawBytes / 3) * 4;
  const name = 'token size';
  const detail = `a ${header}-byte Proxy-Authorization header`;
  if (header > VERY_LARGE_AUTH_HEADER) {
    return { name, status: 'warn', detail: `${detail}, over 16 KB: IIS/HTTP.sys (16 KB) and Apache (8 KB) refuse it by default, Squid up to its request_header_max_size (64 KB)`, remedy: headerSizeRemedy(header) };
  }
  if (header > LARGE_AUTH_HEADER) {
    return { name, status: 'warn', detail: `${detail}, over 8 KB: Apache refuses it by default (LimitRequestFieldSize 8190)`, remedy: headerSizeRemedy(header) };
  }
  return { name, status: 'ok', detail: `${detail}, under the 8 KB that Apache takes by default` };
}

/** The two ways a Negotiate reply token reaches doctor: on a CONNECT's answer, or on a forwarded request's. */
export type ReplyPath = 'CONNECT' | 'forwarded';

/**
 * The line for how the proxy authenticates forwarded requests, from two on one kept-alive connection.
 * Information, not a verdict: the transport learns either mode by itself.
 */
export function authModeCheck(mode: 'connection' | 'request' | null, unseen: string | undefined): Check {
  const name = 'auth mode';
  const handled = 'jaato-proxy handles both: it learns the mode';
  if (mode === 'connection') return { name, status: 'ok', detail: `per connection (as Squid): a second request on the kept-alive connection passed without a token; ${handled}` };
  if (mode === 'request') {
    return { name, status: 'ok', detail: `per request (as Apache mod_auth_gssapi): a second request on the kept-alive connection was challenged again; ${handled} and then sends a fresh token on each request` };
  }
  return { name, status: 'skip', detail: `not seen: ${unseen ?? 'no second request was made'}` };
}

/** The remedy for a proxy that did not prove itself (ProxyMutualAuthError), by its reason and the path. */
export function mutualAuthRemedy(reason: 'bad-token' | 'no-token', path: ReplyPath, spn: string | undefined): string {
  if (reason === 'bad-token') {
    return `the proxy's reply token does not verify against ${spn ?? "the proxy's service"}: either the proxy does not hold the key of that principal (its keytab is stale or for another name: ask its administrators; a wrong JAATO_KERBEROS_SPN can do this too), or something between you and the proxy answers in its place (a man in the middle): do not send anything through it until that is understood`;
  }
  return path === 'CONNECT'
    ? 'this proxy sends no reply token on CONNECT (Squid never sends one; Apache mod_auth_gssapi sends one on forwarded http: answers only), so every https:/wss: request through it fails with requireMutualAuth: turn requireMutualAuth off (drop --require-mutual-auth) for this proxy'
    : 'this proxy sends no reply token on forwarded requests (Squid never sends one), so requireMutualAuth refuses every request through it: turn requireMutualAuth off (drop --require-mutual-auth) for this proxy';
}

/**
 * The line for the proxy's Negotiate reply token on one path: a token that does not verify always
 * fails; none fails only when mutual authentication is required.
 */
export function replyTokenCheck(token: 'verified' | 'bad' | 'none', path: ReplyPath, requireMutualAuth: boolean, spn: string | undefined, error?: unknown): Check {
  const name = 'reply token';
  const on = path === 'CONNECT' ? 'on the CONNECT answer' : 'on the forwarded answer';
  if (token === 'verified') return { name, status: 'ok', detail: `the proxy's Negotiate reply token ${on} verified: the proxy proved itself (mutual authentication)` };
  if (token === 'bad') {
    const why = error instanceof JaatoProxyError ? ` [${error.code}]` : '';
    return { name, status: 'fail', detail: `the proxy's Negotiate reply token ${on} did not verify${why}`, remedy: mutualAuthRemedy('bad-token', path, spn) };
  }
  if (requireMutualAuth) return { name, status: 'fail', detail: `no Negotiate reply token ${on}, and requireMutualAuth is set`, remedy: mutualAuthRemedy('no-token', path, spn) };
  return { name, status: 'ok', detail: `no Negotiate reply token ${on}: the proxy does not prove itself there (fine unless requireMutualAuth is set, which would refuse it)` };
}

/** How the remedies name the PAC's setting: the option that set it, and the variable that also can. */
const PAC_SETTING = 'JAATO_PAC_URL (or --pac)';

/**
 * The remedy for a PAC that could not be loaded. It is fetched directly, never through a proxy, so a
 * PAC server reachable only through the proxy is a mistake of its own.
 */
export function pacFetchRemedy(kind: 'http' | 'file', detail: string): string {
  if (kind === 'file') return `check the path in ${PAC_SETTING}: the file must exist and be readable`;
  const answered = /the server answered (\d+)/.exec(detail);
  const fix = answered ? `the PAC server answered ${answered[1]}: check the URL's path in ${PAC_SETTING}` : `check the URL in ${PAC_SETTING}, and that this machine reaches its server`;
  return `${fix}; the PAC is fetched directly, never through a proxy (HTTPS_PROXY is not used for it); until it loads, every request that needs it fails (never a silent DIRECT)`;
}

/** The remedy for a PAC that does not compile, or gives no usable answer. */
export function pacScriptRemedy(stage: 'compile' | 'answer'): string {
  const what = stage === 'compile' ? 'it compiles' : 'FindProxyForURL returns a list such as "PROXY host:port; DIRECT"';
  return `fix the PAC file until ${what}, or point ${PAC_SETTING} at a working one; meanwhile every request that asks it fails with ERR_JAATO_PAC_EVALUATION (never a silent DIRECT)`;
}
