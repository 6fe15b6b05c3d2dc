import type { ProxyRoute } from '../config/proxy-config.js';
import { basicAuthorization } from '../auth/basic.js';
import { offeredSchemes, parseChallenges, type Challenge } from '../auth/challenge.js';
import { KerberosError } from '../auth/errors.js';
import { NegotiateContext } from '../auth/spnego.js';
import { debug } from '../debug.js';
import { decideOn407, type SentScheme } from './auth-decision.js';
import { ProxyAuthenticationError } from './errors.js';

export interface ProxyAuthOptions {
  /** Fail when the proxy does not prove itself with a Negotiate reply token (off by default: Squid never sends one). */
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
 * Proxy authentication for one connection: what goes on its first request (pre-auth), what answers
 * each 407, and the mutual-auth check on success. A connection gets its own Negotiate context, so a
 * token is never sent on two connections.
 */
export class ConnectionAuth {
  readonly #route: ProxyRoute;
  readonly #options: ProxyAuthOptions;
  #sent: SentScheme = 'none';
  #retries = 0;
  #context: NegotiateContext | undefined;
  #kerberosError: KerberosError | undefined;

  constructor(route: ProxyRoute, options: ProxyAuthOptions = {}) {
    this.#route = route;
    this.#options = options;
  }

  get sent(): SentScheme {
    return this.#sent;
  }

  /**
   * The `Proxy-Authorization` value for the first request, or undefined. A Kerberos failure here is
   * not fatal: the request goes without, and the 407 handler tries again (the seed's fallback).
   */
  async first(signal?: AbortSignal): Promise<string | undefined> {
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
    if (auth === 'basic' && proxy.credentials) return this.#basic();
    return undefined;
  }

  /**
   * Answers a 407: a fresh token or Basic, or throws ProxyAuthenticationError saying why not. `signal`
   * ends a wait for a token at once (with its reason).
   */
  async next(proxyAuthenticate: readonly string[] | undefined, signal?: AbortSignal): Promise<string> {
    const { proxy } = this.#route;
    const challenges: Challenge[] = parseChallenges(proxyAuthenticate);
    const offered = offeredSchemes(challenges);
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
    if (decision.action === 'basic') return this.#basic();
    try {
      return await this.#negotiate(signal);
    } catch (error) {
      if (!(error instanceof KerberosError)) throw error;
      this.#kerberosError = error;
      // Negotiate is what the proxy wants and we cannot make a token: Basic is the last resort if offered.
      if (offered.includes('basic') && proxy.credentials && this.#sent !== 'basic') return this.#basic();
      throw new ProxyAuthenticationError(proxy, offered, `our Kerberos token failed: ${error.message}`, error);
    }
  }

  /**
   * Mutual authentication on success. RFC 4559 puts the proxy's final token in `Proxy-Authenticate`;
   * some proxies use `Proxy-Authentication-Info`: both are read. Without one, the success passes unless
   * `requireMutualAuth` is set.
   */
  async verify(headers: Record<string, readonly string[] | undefined>): Promise<void> {
    if (this.#sent !== 'negotiate' || !this.#context) return;
    const fromChallenge = parseChallenges(headers['proxy-authenticate']).find((c) => c.scheme === 'negotiate' && c.token)?.token;
    const fromInfo = parseChallenges(headers['proxy-authentication-info']).find((c) => c.scheme === 'negotiate' && c.token)?.token;
    const token = fromChallenge ?? fromInfo;
    if (token) {
      await this.#context.verify(token);
      debug('proxy %s: mutual authentication verified', this.#route.proxy.redacted);
    } else if (this.#options.requireMutualAuth) {
      throw new ProxyAuthenticationError(
        this.#route.proxy,
        [],
        'mutual authentication is required (requireMutualAuth) but the proxy sent no Negotiate reply token',
      );
    }
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
    return `Negotiate ${this.#context.token}`;
  }

  #basic(): string {
    this.#sent = 'basic';
    return basicAuthorization(this.#route.proxy.credentials as { username: string; password: string });
  }
}
