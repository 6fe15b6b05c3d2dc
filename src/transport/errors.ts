import { JaatoProxyError, type JaatoProxyErrorCode } from '../errors.js';
import type { ProxyEndpoint } from '../config/proxy-url.js';
import { DEFAULT_RESPONSE_TIMEOUT } from './defaults.js';

function where(proxy: ProxyEndpoint): string {
  return `proxy ${proxy.redacted} (from ${proxy.source})`;
}

/**
 * The proxy could not be reached (refused, unreachable, DNS, TLS to the proxy), or the connection to
 * it failed under a request (closed, reset, an answer that is not HTTP): `during` names that request.
 */
export class ProxyConnectionError extends JaatoProxyError {
  readonly proxy: string;
  constructor(proxy: ProxyEndpoint, detail: string, cause?: unknown, during?: string) {
    const message = during ? `The connection to ${where(proxy)} failed during ${during}: ${detail}` : `Cannot connect to ${where(proxy)}: ${detail}`;
    super('ERR_JAATO_PROXY_CONNECT', message, { cause });
    this.proxy = proxy.redacted;
  }
}

/** What a proxy timeout was waiting for. */
export type ProxyPhase = 'connect' | 'connect-response' | 'tls' | 'response' | 'body';

/** Connecting to the proxy, its answer to CONNECT, or a forwarded request's answer took longer than its bound. */
export class ProxyTimeoutError extends JaatoProxyError {
  readonly proxy: string;
  readonly phase: ProxyPhase | undefined;
  constructor(proxy: ProxyEndpoint, what: string, ms: number, phase?: ProxyPhase, cause?: unknown) {
    super('ERR_JAATO_PROXY_TIMEOUT', `Timed out after ${ms} ms ${what} ${where(proxy)}`, { cause });
    this.proxy = proxy.redacted;
    this.phase = phase;
  }
}

/** The proxy refused the tunnel (non-2xx CONNECT other than an answerable 407) or closed during it. */
export class ProxyTunnelError extends JaatoProxyError {
  readonly proxy: string;
  readonly statusCode: number | undefined;
  constructor(proxy: ProxyEndpoint, target: string, detail: string, statusCode?: number) {
    super('ERR_JAATO_PROXY_TUNNEL', `${where(proxy)} did not open a tunnel to ${target}: ${detail}`);
    this.proxy = proxy.redacted;
    this.statusCode = statusCode;
  }
}

/**
 * The proxy refused a request for the size of its head (431, 494; 400 or 413 with a large token) after
 * we added a Negotiate token to it: the Kerberos ticket is large because the account is in many groups
 * (Active Directory puts them in the ticket's PAC). Not a target refusal and not a wrong credential: the
 * remedy is the proxy's header limit, or fewer group memberships. `headerBytes` is the size of our
 * `Proxy-Authorization` line (never its value).
 */
export class ProxyHeaderTooLargeError extends JaatoProxyError {
  readonly proxy: string;
  readonly statusCode: number;
  readonly headerBytes: number;
  constructor(proxy: ProxyEndpoint, what: string, statusCode: number, statusText: string, headerBytes: number) {
    const kb = (headerBytes / 1024).toFixed(1);
    super(
      'ERR_JAATO_PROXY_HEADER_TOO_LARGE',
      `${where(proxy)} refused ${what} for its size (${`${statusCode} ${statusText}`.trim()}): it carried a ${headerBytes}-byte (${kb} KB) ` +
        'Proxy-Authorization header with our Negotiate token. A Kerberos ticket grows with the account\'s group memberships ' +
        '(Active Directory puts them in the ticket\'s PAC, ~11 bytes each). Ask the proxy\'s administrators to raise its request header limit ' +
        '(Squid `request_header_max_size`, default 64 KB, and no single field over 64 KB; Apache `LimitRequestFieldSize`, default 8190; ' +
        'IIS/HTTP.sys `MaxFieldLength`/`MaxRequestBytes`), or reduce the account\'s group memberships',
    );
    this.proxy = proxy.redacted;
    this.statusCode = statusCode;
    this.headerBytes = headerBytes;
  }
}

/** Proxy authentication failed for good: the 407s could not be answered within the retry bound. */
export class ProxyAuthenticationError extends JaatoProxyError {
  readonly proxy: string;
  /** Schemes the proxy offered in its last 407, lower case. */
  readonly offered: readonly string[];
  constructor(proxy: ProxyEndpoint, offered: readonly string[], reason: string, cause?: unknown, text?: { code: JaatoProxyErrorCode; message: string }) {
    const schemes = offered.length > 0 ? offered.map((s) => s[0]?.toUpperCase() + s.slice(1)).join(', ') : 'none';
    super(text?.code ?? 'ERR_JAATO_PROXY_AUTH', text?.message ?? `${where(proxy)} requires authentication (407; offers: ${schemes}): ${reason}`, { cause });
    this.proxy = proxy.redacted;
    this.offered = offered;
  }
}

/**
 * The proxy did not prove its identity (mutual authentication, RFC 4559 §5): its Negotiate reply
 * token did not verify (`reason: 'bad-token'`, the GSSAPI error as `cause`), or `requireMutualAuth`
 * is set and the answer carried none (`'no-token'`). A kind of ProxyAuthenticationError, with its own
 * code; the request it answered is failed and its connection dropped.
 */
export class ProxyMutualAuthError extends ProxyAuthenticationError {
  readonly reason: 'bad-token' | 'no-token';
  /** `answer` names what was checked: "its 200 answer to GET http://host". */
  constructor(proxy: ProxyEndpoint, reason: 'bad-token' | 'no-token', answer: string, cause?: unknown) {
    const detail =
      reason === 'bad-token'
        ? `its Negotiate reply token on ${answer} did not verify, so it is not the proxy the Kerberos ticket was for (${cause instanceof Error ? cause.message : String(cause)})`
        : `mutual authentication is required (requireMutualAuth) but ${answer} carried no Negotiate reply token. ` +
          'Squid never sends one; Apache mod_auth_gssapi sends one on forwarded http requests, not on CONNECT: turn requireMutualAuth off for such a proxy';
    super(proxy, [], detail, cause, { code: 'ERR_JAATO_PROXY_MUTUAL_AUTH', message: `${where(proxy)} did not authenticate itself: ${detail}` });
    this.reason = reason;
  }
}

/**
 * A 407 came after more of a streamed request body had been sent than is kept to send it again
 * (`bodyReplayLimit`). Strings, buffers, Blobs and FormData are always sent again whole.
 */
export class RequestBodyReplayError extends JaatoProxyError {
  readonly proxy: string;
  readonly limit: number;
  constructor(proxy: ProxyEndpoint, what: string, limit: number) {
    super(
      'ERR_JAATO_BODY_REPLAY_LIMIT',
      `${where(proxy)} asked for authentication (407) on ${what} after more than ${limit} bytes of its streamed body had been sent, ` +
        `more than is kept to send it again (bodyReplayLimit: ${limit}): raise bodyReplayLimit, or send the body as a string or Buffer`,
    );
    this.proxy = proxy.redacted;
    this.limit = limit;
  }
}

/** Failures of the connection itself, as undici and Node name them (not TLS or HTTP errors of an origin). */
const SOCKET_FAILURE = /^(UND_ERR_SOCKET|ECONNRESET|EPIPE|ECONNABORTED)$/;

/**
 * A failure under a request inside a CONNECT tunnel, as this library reports it: the connection to
 * the proxy breaking (the proxy died, or dropped the tunnel) is a ProxyConnectionError naming it.
 * Everything else there is the origin's (its certificate, its HTTP, its slowness) and passes unchanged.
 */
export function tunnelFailure(proxy: ProxyEndpoint, what: string, error: Error): Error {
  const code = (error as { code?: unknown }).code;
  if (error instanceof JaatoProxyError || typeof code !== 'string' || !SOCKET_FAILURE.test(code)) return error;
  return new ProxyConnectionError(proxy, `${code}: ${error.message || 'no detail'}`, error, what);
}

/** undici's default bounds, named in a timeout error when the caller did not say which were in force. */
const UNDICI_TIMEOUTS = { headers: DEFAULT_RESPONSE_TIMEOUT, body: DEFAULT_RESPONSE_TIMEOUT };

/**
 * A failure of a request forwarded to the proxy, as this library reports it: a JaatoProxyError naming
 * the proxy and the phase, with the HTTP client's own error as `cause`. Our own errors and the
 * caller's aborts pass unchanged. `what` names the request (`GET http://host`), `timeouts` are the
 * bounds in force, for the message.
 */
export function forwardFailure(proxy: ProxyEndpoint, what: string, error: Error, timeouts: { headers: number; body: number } = UNDICI_TIMEOUTS): Error {
  if (error instanceof JaatoProxyError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'UND_ERR_ABORTED' || error.name === 'AbortError') return error;
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return new ProxyTimeoutError(proxy, `waiting for the answer to ${what} from`, timeouts.headers, 'response', error);
  if (code === 'UND_ERR_BODY_TIMEOUT') return new ProxyTimeoutError(proxy, `waiting for more of the answer to ${what} from`, timeouts.body, 'body', error);
  const detail = typeof code === 'string' ? `${code}: ${error.message || 'no detail'}` : error.message || error.name;
  return new ProxyConnectionError(proxy, detail, error, what);
}

