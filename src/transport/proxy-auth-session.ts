import type { ProxyRoute } from '../config/proxy-config.js';
import { basicAuthorization } from '../auth/basic.js';
import { offeredSchemes, parseChallenges, type Challenge } from '../auth/challenge.js';
import { KerberosError } from '../auth/errors.js';
import { NtlmAuthenticator } from '../auth/ntlm.js';
import { NtlmError } from '../auth/ntlm-errors.js';
import { chooseProxyScheme } from '../auth/scheme-choice.js';
import { NegotiateContext } from '../auth/spnego.js';
import { debug } from '../debug.js';
import { decideOn407, refusedForSize, type SentScheme } from '../auth/auth-decision.js';
import { ProxyAuthenticationError, ProxyHeaderTooLargeError, ProxyMutualAuthError } from './errors.js';

export interface ProxyAuthOptions {
  /**
   * Fail every request whose proxy does not prove itself with a Negotiate reply token that verifies
   * (off by default: Squid never sends one, Apache mod_auth_gssapi on forwarded http requests only).
   */
  requireMutualAuth?: boolean;
  /** Kerberos client principal (`user@REALM`) instead of the credential cache's default. */
  principal?: string;
  /**
   * Milliseconds to make a Kerberos token, the wait for a free GSSAPI slot included, then
   * `KerberosKdcUnreachableError` (a KDC that never answers holds a call ~50 s). Default
   * `connectTimeout`, else 10 000.
   */
  tokenTimeout?: number;
}

/**
 * How a proxy authenticates: `connection` (Squid: a connection is authenticated once, by the token on
 * its first request) or `request` (Apache mod_auth_gssapi: every request needs a fresh token).
 */
export type AuthMode = 'connection' | 'request';

/**
 * What this process has learned of each proxy, by origin and service name. Every proxy starts as
 * `connection`, which costs nothing on a kept-alive connection; a 407 on a connection that had already
 * been authenticated is proof of the other kind, and from then on every request to that proxy carries
 * a fresh token: one extra 407 per proxy, not one per request. A handful of proxies per process, so
 * the map stays small.
 */
const learned = new Map<string, AuthMode>();

function modeKey(route: ProxyRoute): string {
  return `${route.proxy.origin} ${route.spn ?? '-'}`;
}

/** The learned mode of the route's proxy. Synchronous and allocation-free: it runs on every request. */
export function authModeOf(route: ProxyRoute): AuthMode {
  return learned.size === 0 ? 'connection' : (learned.get(modeKey(route)) ?? 'connection');
}

/** Forgets what was learned (tests that start a proxy again on the same port). */
export function forgetAuthModes(): void {
  learned.clear();
}

/**
 * Whether a request must carry a Negotiate token up front: on a connection not yet authenticated,
 * and on every request to a proxy that authenticates requests. Basic is not counted: it is a static
 * header, sent on every request (`basicHeader`).
 */
export function needsNegotiateToken(route: ProxyRoute, authenticatedConnection: boolean): boolean {
  return route.auth === 'negotiate' && (!authenticatedConnection || authModeOf(route) === 'request');
}

/** The Basic header a route sends on every request, if it sends one. */
export function basicHeader(route: ProxyRoute): string | undefined {
  return route.auth === 'basic' && route.proxy.credentials ? basicAuthorization(route.proxy.credentials) : undefined;
}

/**
 * The proxy authentication of one request (or one CONNECT), the same on every path: what goes up
 * front, what answers each 407 (the one place 407s are answered), and the mutual-auth check of the
 * answer. Each token comes from its own Negotiate context, so no token is ever sent twice.
 */
export class ProxyAuthSession {
  readonly #route: ProxyRoute;
  readonly #options: ProxyAuthOptions;
  #sent: SentScheme = 'none';
  /** Bytes of the `Proxy-Authorization` field line the last attempt carried. */
  #headerBytes = 0;
  #retries = 0;
  #context: NegotiateContext | undefined;
  #kerberosError: KerberosError | undefined;
  /** The NTLM handshake of this attempt's connection, from its NEGOTIATE message on. */
  #ntlm: NtlmAuthenticator | undefined;
  /** Its AUTHENTICATE message went: a 407 now is the proxy's refusal. */
  #ntlmDone = false;

  constructor(route: ProxyRoute, options: ProxyAuthOptions = {}) {
    this.#route = route;
    this.#options = options;
  }

  get route(): ProxyRoute {
    return this.#route;
  }

  /** What the last attempt carried. */
  get sent(): SentScheme {
    return this.#sent;
  }

  /**
   * Whether a successful answer must go through `verify` before it is delivered: it carries a reply
   * token to our token, or mutual authentication is required and this connection has not shown it.
   * Synchronous, so an answer that needs no check is passed on at once.
   */
  mustVerify(headers: Record<string, string | readonly string[] | undefined>, verifiedConnection = false): boolean {
    if (this.#sent === 'negotiate' && replyToken(headers) !== undefined) return true;
    return this.#options.requireMutualAuth === true && !verifiedConnection;
  }

  /**
   * The `Proxy-Authorization` value to send up front, or undefined. A Kerberos failure here is not
   * fatal: the request goes without, and the 407 answer tries again (and names this error if it fails).
   */
  async preAuth(signal?: AbortSignal): Promise<string | undefined> {
    const { auth, proxy } = this.#route;
    if (auth === 'negotiate') {
      try {
        return await this.#negotiate(signal);
      } catch (error) {
        if (!(error instanceof KerberosError)) throw error;
        this.#kerberosError = error;
        debug('proxy %s: no pre-auth token (%s); sending without', proxy.redacted, error.code);
        return undefined;
      }
    }
    const basic = basicHeader(this.#route);
    if (basic) this.sentWith(basic);
    return basic;
  }

  /** Records that the attempt went with this header (one the caller took from `basicHeader`), or none. */
  sentWith(header: string | undefined): void {
    this.#sent = header === undefined ? 'none' : header.startsWith('Basic ') ? 'basic' : header.startsWith('NTLM ') ? 'ntlm' : 'negotiate';
    this.#headerBytes = header === undefined ? 0 : headerLine(header);
  }

  /**
   * The error for a non-407 answer that refuses the size of a request carrying our token (431, or 400
   * and 413 with a large one: auth-decision.ts), else undefined: the answer is the target's.
   * `what` names the request (`CONNECT host:443`, `GET http://host`), or makes its name when needed; `forwarded`: the answer's headers
   * when it answers a forwarded request (it may be the origin's), absent for a CONNECT (the proxy's).
   */
  refusedForSize(statusCode: number, statusText: string, what: string | (() => string), forwarded?: Record<string, unknown>): ProxyHeaderTooLargeError | undefined {
    const proxysOwn = forwarded === undefined || forwarded['x-squid-error'] !== undefined;
    if (!refusedForSize(statusCode, this.#sent, this.#headerBytes, proxysOwn)) return undefined;
    if (typeof what === 'function') what = what();
    debug('proxy %s: %d to %s, which carried a %d-byte Proxy-Authorization line', this.#route.proxy.redacted, statusCode, what, this.#headerBytes);
    return new ProxyHeaderTooLargeError(this.#route.proxy, what, statusCode, statusText, this.#headerBytes);
  }

  /**
   * Answers a 407: a fresh token or Basic, or throws ProxyAuthenticationError saying why not.
   * `onAuthenticatedConnection`: the refused request went without a token on a connection that had
   * been authenticated, so the proxy authenticates requests, not connections, and is remembered so.
   * `signal` ends a wait for a token at once (with its reason).
   */
  async answer407(proxyAuthenticate: readonly string[] | string | undefined, options: { signal?: AbortSignal; onAuthenticatedConnection?: boolean } = {}): Promise<string> {
    return (await this.nextLeg(proxyAuthenticate, options)).header;
  }

  /**
   * Answers a 407 as `answer407`, and says whether the answer is bound to the connection of the 407
   * (`sameConnection`: NTLM's AUTHENTICATE message, made from the challenge that 407 carried).
   */
  async nextLeg(proxyAuthenticate: readonly string[] | string | undefined, options: { signal?: AbortSignal; onAuthenticatedConnection?: boolean } = {}): Promise<{ header: string; sameConnection: boolean }> {
    const { proxy } = this.#route;
    if (options.onAuthenticatedConnection && this.#sent === 'none' && this.#route.auth === 'negotiate' && authModeOf(this.#route) !== 'request') {
      learned.set(modeKey(this.#route), 'request');
      debug('proxy %s: 407 on an authenticated connection: it authenticates every request; sending a token on each from now on', proxy.redacted);
    }
    const challenges: Challenge[] = parseChallenges(proxyAuthenticate);
    const offered = offeredSchemes(challenges);
    if (this.#ntlm) return { header: await this.#ntlmStep(challenges, offered), sameConnection: true };
    if (this.#ntlmAnswers(offered, undefined)) return { header: await this.#ntlmStart(offered, options.signal), sameConnection: false };
    const decision = decideOn407({
      offered,
      kerberos: this.#route.auth === 'negotiate',
      hasBasicCredentials: proxy.credentials !== undefined,
      lastSent: this.#sent,
      retries: this.#retries,
    });
    this.#retries++;
    if (decision.action === 'fail') {
      const kerberos = this.#kerberosError;
      const reason = kerberos ? `${decision.reason}; our last Kerberos token failed: ${kerberos.message}` : decision.reason;
      throw new ProxyAuthenticationError(proxy, offered, reason, kerberos);
    }
    debug('proxy %s: 407 offers %s; answering with %s (retry %d)', proxy.redacted, offered.join(',') || 'nothing', decision.action, this.#retries);
    if (decision.action === 'basic') return { header: this.#basic(), sameConnection: false };
    try {
      return { header: await this.#negotiate(options.signal), sameConnection: false };
    } catch (error) {
      if (!(error instanceof KerberosError)) throw error;
      this.#kerberosError = error;
      // Negotiate cannot make a token on this machine: NTLM where the proxy offers it and the policy allows.
      if (this.#ntlmAnswers(offered, error.code)) return { header: await this.#ntlmStart(offered, options.signal, error), sameConnection: false };
      // Negotiate is what the proxy wants and we cannot make a token: Basic is the last resort if offered.
      if (offered.includes('basic') && proxy.credentials && this.#sent !== 'basic') return { header: this.#basic(), sameConnection: false };
      throw new ProxyAuthenticationError(proxy, offered, `our Kerberos token failed: ${error.message}`, error);
    }
  }

  /**
   * Whether NTLM answers this 407, by the policy (scheme-choice.ts): only where the proxy offers it, and
   * Negotiate is not offered, is off, or (`negotiateFailed`) could not make a token. Without an NTLM
   * offer nothing changes: Negotiate and Basic are decided as before (decideOn407).
   */
  #ntlmAnswers(offered: readonly string[], negotiateFailed: string | undefined): boolean {
    if (!offered.includes('ntlm') || this.#sent === 'ntlm') return false;
    const choice = chooseProxyScheme({
      offered,
      setting: this.#route.proxyAuth ?? 'any',
      kerberos: this.#route.auth === 'negotiate',
      credentials: this.#route.proxy.credentials !== undefined,
      negotiateFailed,
    });
    if (choice.scheme !== 'ntlm') return false;
    debug('proxy %s: answering its 407 with NTLM (%s)', this.#route.proxy.redacted, choice.reason);
    return true;
  }

  /** NTLM's NEGOTIATE message: it may go on any connection; the rest of the handshake stays on the one that carried it. */
  async #ntlmStart(offered: readonly string[], signal: AbortSignal | undefined, kerberos?: KerberosError): Promise<string> {
    const { proxy } = this.#route;
    const { tokenTimeout } = this.#options;
    const ntlm = new NtlmAuthenticator(proxy.hostname, {
      credentials: proxy.credentials,
      ...(tokenTimeout !== undefined && { timeout: tokenTimeout }),
      ...(signal !== undefined && { signal }),
    });
    let token: string;
    try {
      token = await ntlm.start();
    } catch (error) {
      ntlm.dispose();
      if (!(error instanceof NtlmError)) throw error;
      if (offered.includes('basic') && proxy.credentials && this.#sent !== 'basic' && (this.#route.proxyAuth ?? 'any') === 'any') {
        // The password is about to go in clear: the log says why NTLM did not answer instead.
        debug('proxy %s: NTLM could not answer (%s); answering with Basic, which it also offers', proxy.redacted, error.code);
        return this.#basic();
      }
      // NTLM was the fallback of a Kerberos failure: that failure is what the user must fix, so it stays the cause.
      if (kerberos) throw new ProxyAuthenticationError(proxy, offered, `our Kerberos token failed: ${kerberos.message}; NTLM could not answer either (${error.code})`, kerberos);
      throw new ProxyAuthenticationError(proxy, offered, `our NTLM message failed: ${error.message}`, error);
    }
    this.#ntlm = ntlm;
    this.#ntlmDone = false;
    return this.#sentNtlm(token);
  }

  /** The 407 to our NEGOTIATE message carries the CHALLENGE: the AUTHENTICATE message answers it; a 407 after that is a refusal. */
  async #ntlmStep(challenges: readonly Challenge[], offered: readonly string[]): Promise<string> {
    const { proxy } = this.#route;
    const ntlm = this.#ntlm as NtlmAuthenticator;
    const challenge = challenges.find((c) => c.scheme === 'ntlm' && c.token)?.token;
    if (this.#ntlmDone || challenge === undefined) {
      ntlm.dispose();
      this.#ntlm = undefined;
      const reason = this.#ntlmDone
        ? 'the proxy refused our NTLM credentials (a 407 after the AUTHENTICATE message): check the DOMAIN\\user and password in the proxy URL (or NTLM_USER_FILE), and that the account is enabled'
        : 'the proxy answered our NTLM NEGOTIATE message without an NTLM challenge';
      throw new ProxyAuthenticationError(proxy, offered, reason);
    }
    let step: { token: string | undefined };
    try {
      step = await ntlm.step(challenge);
    } catch (error) {
      this.#ntlm = undefined;
      if (!(error instanceof NtlmError)) throw error;
      throw new ProxyAuthenticationError(proxy, offered, `our NTLM message failed: ${error.message}`, error);
    }
    this.#ntlmDone = true;
    if (step.token === undefined) throw new ProxyAuthenticationError(proxy, offered, 'the NTLM mechanism made no AUTHENTICATE message for the proxy\'s challenge');
    return this.#sentNtlm(step.token);
  }

  #sentNtlm(token: string): string {
    this.#sent = 'ntlm';
    const header = `NTLM ${token}`;
    this.#headerBytes = headerLine(header);
    return header;
  }

  /**
   * Mutual authentication of a successful answer. RFC 4559 puts the proxy's final token in
   * `Proxy-Authenticate`; some proxies use `Proxy-Authentication-Info`: both are read. A token that
   * does not verify always fails (ProxyMutualAuthError). Without one: fine, unless `requireMutualAuth`
   * is set and the connection was not verified before (`verifiedConnection`: an earlier answer on the
   * same kept-alive connection proved the proxy). Resolves true when a token verified.
   */
  async verify(headers: Record<string, string | readonly string[] | undefined>, answer: string, verifiedConnection = false): Promise<boolean> {
    const token = this.#sent === 'negotiate' ? replyToken(headers) : undefined;
    if (token && this.#context) {
      try {
        await this.#context.verify(token);
      } catch (error) {
        throw new ProxyMutualAuthError(this.#route.proxy, 'bad-token', answer, error);
      }
      debug('proxy %s: mutual authentication verified', this.#route.proxy.redacted);
      return true;
    }
    if (this.#options.requireMutualAuth && !verifiedConnection) throw new ProxyMutualAuthError(this.#route.proxy, 'no-token', answer);
    return false;
  }

  async #negotiate(signal: AbortSignal | undefined): Promise<string> {
    const spn = this.#route.spn as string;
    const { principal, tokenTimeout } = this.#options;
    this.#context = await NegotiateContext.start(spn, {
      ...(principal !== undefined && { principal }),
      ...(tokenTimeout !== undefined && { timeout: tokenTimeout }),
      ...(signal !== undefined && { signal }),
    });
    this.#sent = 'negotiate';
    const header = `Negotiate ${this.#context.token}`;
    this.#headerBytes = headerLine(header);
    return header;
  }

  /**
   * The exchange is over (answered, failed, or its connection gone): an NTLM handshake still waiting for
   * its CHALLENGE ends now (its ntlm_auth process with it), and the Negotiate context is released.
   */
  dispose(): void {
    this.#ntlm?.dispose();
    this.#ntlm = undefined;
    this.#context?.dispose();
  }

  #basic(): string {
    this.#sent = 'basic';
    const header = basicAuthorization(this.#route.proxy.credentials as { username: string; password: string });
    this.#headerBytes = headerLine(header);
    return header;
  }
}

/** Bytes of the field line `Proxy-Authorization: <value>` (the value is ASCII), as proxies count a field. */
function headerLine(value: string): number {
  return 'Proxy-Authorization: '.length + value.length;
}

/** The proxy's Negotiate reply token, from `Proxy-Authenticate` or `Proxy-Authentication-Info`. */
function replyToken(headers: Record<string, string | readonly string[] | undefined>): string | undefined {
  for (const name of ['proxy-authenticate', 'proxy-authentication-info']) {
    const token = parseChallenges(headers[name]).find((c) => c.scheme === 'negotiate' && c.token)?.token;
    if (token) return token;
  }
  return undefined;
}
