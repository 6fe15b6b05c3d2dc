import type { ConnectionOptions } from 'node:tls';
import type { ProxyRoute } from '../config/proxy-config.js';
import { probeProxy } from '../transport/probe.js';
import { openTunnel } from '../transport/tunnel.js';
import { authCheck, connectionRemedy, offerCheck, sentWith, unmetOffer, type AuthOutcome, type AuthSetting, type ProxyPlace, type SpnState } from './advice.js';
import type { Check } from './doctor.js';
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
  const facts: ProxyFacts = { proxy: proxy.redacted, variables, reachable: false, status: null, offers: [], authenticated: null };
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
  const forward = options.forward;
  if (probe.statusCode !== 407 || (!tls && !forward) || unmetOffer(probe.offered, setting)) return { checks, facts };

  const what = tls ? `CONNECT ${target.hostname}:${port}` : `HEAD ${target.origin}`;
  let outcome: AuthOutcome;
  const tokens = countTokens(route.spn);
  try {
    if (forward && !tls) {
      outcome = { ok: true, answer: await forward(target) };
    } else {
      const socket = await openTunnel(route, target.hostname, port, { ...dial, tokenTimeout: options.tokenTimeout });
      socket.destroy();
      outcome = { ok: true, answer: 'tunnel open' };
    }
  } catch (error) {
    outcome = { ok: false, error };
  } finally {
    tokens.stop();
  }
  const sent = sentWith(tokens.count, setting, probe.offered);
  const check = authCheck(outcome, what, { ...setting, ...known, sent }, place);
  facts.authenticated = check.status === 'ok';
  checks.push(check);
  return { checks, facts };
}
