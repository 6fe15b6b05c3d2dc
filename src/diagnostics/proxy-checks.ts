import type { ConnectionOptions } from 'node:tls';
import type { ProxyRoute } from '../config/proxy-config.js';
import { probeProxy } from '../transport/probe.js';
import { openTunnel } from '../transport/tunnel.js';
import { ProxyHeaderTooLargeError, ProxyMutualAuthError } from '../transport/errors.js';
import type { ProxyAuthSetting } from '../config/proxy-auth-setting.js';
import { authCheck, authModeCheck, connectionRemedy, headerSizeRemedy, offerCheck, replyTokenCheck, schemeCheck, sentWith, unmetOffer, type AuthOutcome, type AuthSetting, type ProxyPlace, type SpnState } from './advice.js';
import { probeForwardedAuth, type ReplyToken } from './auth-mode.js';
import type { Check } from './check.js';
import { countTokens } from './token-count.js';

/** What doctor learnt about one proxy: the `proxies` entries of `doctor --json`. */
export interface ProxyFacts {
  /** The proxy URL, credentials masked. */
  proxy: string;
  /** The variables (or option) that name it, e.g. `["HTTPS_PROXY", "HTTP_PROXY"]`. */
  variables: string[];
  /** It answered the unauthenticated request. */
  reachable: boolean;
  /** Its status for the unauthenticated request; null when it did not answer. */
  status: number | null;
  /** The schemes its 407 offered, lower case (`negotiate`, `basic`, `ntlm`...); empty when none. */
  offers: string[];
  /** It accepted the authenticated request; null when that was not tried (no 407, nothing configured to answer, not reached, or an http: URL, whose fetch line is the proof). */
  authenticated: boolean | null;
  /**
   * How it authenticates forwarded requests, from two on one kept-alive connection: `connection` (the
   * second passed without a token, as Squid) or `request` (challenged again, as Apache mod_auth_gssapi);
   * null when not seen (an https target goes through CONNECT, one request per tunnel; not Negotiate).
   */
  authMode: 'connection' | 'request' | null;
  /** Its Negotiate reply token on the CONNECT answer: `verified`, `bad` (did not verify), `none`; null when no Negotiate CONNECT got through. */
  connectReplyToken: ReplyToken | null;
  /** The same on a forwarded (http:) answer; null when none was seen. */
  forwardedReplyToken: ReplyToken | null;
}

export interface ProxyCheckOptions {
  timeout: number;
  tokenTimeout: number;
  proxyTls?: ConnectionOptions;
  /**
   * Makes the authenticated request for an http target (a forwarded HEAD through the library, as any
   * http request would go) and says what came back; absent when a fetch line does that instead.
   */
  forward?: (target: URL) => Promise<string>;
  /** The target is doctor's stand-in (no URL was given), not one the user asked for. */
  standIn?: boolean;
  /** An http: target the proxy also serves (doctor's stand-in), to see how it authenticates forwarded requests when `target` is tunnelled. */
  forwardedTarget?: URL;
  /** The setup requires mutual authentication: a path without a reply token fails. */
  requireMutualAuth?: boolean;
  /** The Kerberos client principal, when one is chosen. */
  principal?: string;
  /** JAATO_PROXY_AUTH and the Kerberos switch, for the `scheme` line (default: `any`, Kerberos as the route says). */
  scheme?: { setting: ProxyAuthSetting; kerberos: boolean; ntlmMechanism?: string };
}

/**
 * Probes one proxy as doctor does: an unauthenticated request, to see what it offers, then an
 * authenticated one with what is configured (a CONNECT for an https target; for an http target the
 * forwarded request of `options.forward`). Never throws.
 */
export async function checkProxy(
  route: ProxyRoute,
  target: URL,
  variables: string[],
  known: { spn: SpnState | undefined; principal: string | undefined },
  options: ProxyCheckOptions,
): Promise<{ checks: Check[]; facts: ProxyFacts }> {
  const { proxy } = route;
  const variable = variables.join(', ');
  const setting: AuthSetting = { kerberos: route.auth === 'negotiate', basicCredentials: proxy.credentials !== undefined, variable };
  const place: ProxyPlace = { variable, host: proxy.hostname, port: proxy.port, tls: proxy.protocol === 'https:' };
  const facts: ProxyFacts = { proxy: proxy.redacted, variables, reachable: false, status: null, offers: [], authenticated: null, authMode: null, connectReplyToken: null, forwardedReplyToken: null };
  const dial = { timeout: options.timeout, ...(options.proxyTls && { proxyTls: options.proxyTls }) };
  let probe;
  try {
    probe = await probeProxy(proxy, target, dial);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { checks: [{ name: 'proxy', status: 'fail', detail, remedy: connectionRemedy(error, place) }], facts };
  }
  Object.assign(facts, { reachable: true, status: probe.statusCode, offers: probe.offered });
  const tls = target.protocol === 'https:' || target.protocol === 'wss:';
  const port = Number(target.port || (tls ? 443 : 80));
  const checks = [offerCheck(probe, proxy.redacted, setting, tls, options.standIn ? `${target.hostname}:${port}` : undefined)];
  if (probe.statusCode === 407) {
    checks.push(schemeCheck(probe.offered, { setting: options.scheme?.setting ?? 'any', kerberos: options.scheme?.kerberos ?? setting.kerberos, credentials: setting.basicCredentials, ...(options.scheme?.ntlmMechanism !== undefined && { ntlmMechanism: options.scheme.ntlmMechanism }) }));
  }
  const forward = options.forward;
  if (probe.statusCode !== 407 || unmetOffer(probe.offered, setting)) return { checks, facts };
  const probing: Probing = { route, options, place, checks, facts };
  if (tls || forward) await authenticated(probing, target, port, { ...setting, ...known }, probe.offered);
  if (route.auth !== 'negotiate' || !probe.offered.includes('negotiate')) return { checks, facts };
  const forwarded = tls ? options.forwardedTarget : target;
  if (forwarded) await forwardedMode(probing, forwarded);
  else checks.push(authModeCheck(null, 'a CONNECT tunnel is authenticated once; how the proxy treats forwarded requests shows with an http: URL (jaato-proxy doctor http://<host>/)'));
  return { checks, facts };
}

/** One proxy being probed: what each step needs, and where its lines and facts go. */
interface Probing {
  route: ProxyRoute;
  options: ProxyCheckOptions;
  place: ProxyPlace;
  checks: Check[];
  facts: ProxyFacts;
}

/** The authenticated request (a CONNECT, or the forwarded request of `options.forward`): the `proxy auth` line, and for a CONNECT its reply token. */
async function authenticated(
  { route, options, place, checks, facts }: Probing,
  target: URL,
  port: number,
  setting: AuthSetting & { spn: SpnState | undefined; principal: string | undefined },
  offered: string[],
): Promise<void> {
  const tls = target.protocol === 'https:' || target.protocol === 'wss:';
  const what = tls ? `CONNECT ${target.hostname}:${port}` : `HEAD ${target.origin}`;
  const dial = { timeout: options.timeout, ...(options.proxyTls && { proxyTls: options.proxyTls }) };
  let outcome: AuthOutcome;
  let reply: { token: ReplyToken; error?: unknown } | undefined;
  const tokens = countTokens(route.spn);
  try {
    if (options.forward && !tls) {
      outcome = { ok: true, answer: await options.forward(target) };
    } else {
      // Mutual authentication required of the transport's own tunnel, so that its verdict says which it was:
      // opened (a token verified), no-token (none came: authenticated all the same), bad-token.
      const negotiate = route.auth === 'negotiate';
      const principal = options.principal;
      try {
        const socket = await openTunnel(route, target.hostname, port, { ...dial, tokenTimeout: options.tokenTimeout, ...(principal && { principal }), ...(negotiate && { requireMutualAuth: true }) });
        socket.destroy();
        if (negotiate) reply = { token: 'verified' };
      } catch (error) {
        if (!(error instanceof ProxyMutualAuthError)) throw error;
        reply = error.reason === 'no-token' ? { token: 'none' } : { token: 'bad', error };
      }
      // A reply token that does not verify still means the credentials were taken: its own line fails.
      outcome = { ok: true, answer: reply?.token === 'bad' ? 'but the proxy did not prove itself (reply token below)' : 'tunnel open' };
    }
  } catch (error) {
    outcome = { ok: false, error };
  } finally {
    tokens.stop();
  }
  const sent = sentWith(tokens.count, setting, offered);
  const check = authCheck(outcome, what, { ...setting, sent }, place);
  facts.authenticated = check.status === 'ok';
  checks.push(check);
  if (reply && sent === 'negotiate') {
    facts.connectReplyToken = reply.token;
    checks.push(replyTokenCheck(reply.token, 'CONNECT', options.requireMutualAuth === true, route.spn, reply.error));
  }
}

/** Two forwarded requests on one kept-alive connection: the `auth mode` line and the forwarded reply token's. */
async function forwardedMode({ route, options, place, checks, facts }: Probing, target: URL): Promise<void> {
  let seen;
  try {
    seen = await probeForwardedAuth(route, target, {
      timeout: options.timeout,
      tokenTimeout: options.tokenTimeout,
      ...(options.proxyTls && { proxyTls: options.proxyTls }),
      ...(options.principal && { principal: options.principal }),
    });
  } catch (error) {
    if (error instanceof ProxyHeaderTooLargeError) {
      checks.push({ name: 'auth mode', status: 'fail', detail: `${error.message} [${error.code}]`, remedy: headerSizeRemedy(error.headerBytes) });
      return;
    }
    // With doctor's stand-in target the proxy may well fail to reach it: only a warning then.
    const detail = error instanceof Error ? error.message : String(error);
    checks.push({ name: 'auth mode', status: options.standIn ? 'warn' : 'fail', detail, remedy: options.standIn ? `give doctor an http: URL the proxy serves (jaato-proxy doctor http://<host you use>/); ${connectionRemedy(error, place)}` : connectionRemedy(error, place) });
    return;
  }
  if (!seen) return; // no token could be made: the token line says why
  facts.authMode = seen.mode;
  checks.push(authModeCheck(seen.mode, seen.unseen));
  if (seen.replyToken === null) return;
  facts.forwardedReplyToken = seen.replyToken;
  checks.push(replyTokenCheck(seen.replyToken, 'forwarded', options.requireMutualAuth === true, route.spn, seen.error));
}
