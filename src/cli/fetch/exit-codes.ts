import { JaatoProxyError } from '../../errors.js';
import { certificateProblem, DNS } from '../../diagnostics/error-codes.js';

/**
 * `jaato-proxy fetch` exit codes: curl's number where curl has one (man curl, "EXIT CODES"), so a
 * script written for curl keeps working; 1 and 2 keep this CLI's meaning (failure, usage error).
 * The README's table is generated from the same meanings; keep the two in step.
 */
export const FETCH_EXIT = {
  ok: 0,
  /** Anything not below, proxy authentication failures included (curl has no code for a 407 it gave up on). */
  failure: 1,
  /** The command line (curl: 2 is "failed to initialize"; ours is the usage error, for every command). */
  usage: 2,
  /** The URL does not parse. */
  badUrl: 3,
  /** The proxy's host name does not resolve. */
  proxyResolve: 5,
  /** The origin's host name does not resolve (direct route; through a proxy, the proxy resolves it). */
  hostResolve: 6,
  /** No connection: to the proxy (`ERR_JAATO_PROXY_CONNECT`) or, direct, to the origin. */
  connect: 7,
  /** `-f` and an HTTP status of 400 or more. */
  httpError: 22,
  /** The `-o` file cannot be written. */
  writeError: 23,
  /** A `-d @file` (or `-w @file`) cannot be read. */
  readError: 26,
  /** A time limit: `-m`, `--connect-timeout`/`--timeout` (`ERR_JAATO_PROXY_TIMEOUT`), a silent answer. */
  timeout: 28,
  /** The TLS handshake failed (with the origin, or with an `https://` proxy). */
  tls: 35,
  /** More redirects than `--max-redirs` allows. */
  tooManyRedirects: 47,
  /** The connection broke under the transfer, or the proxy refused the tunnel (`ERR_JAATO_PROXY_TUNNEL`: curl also says 56). */
  recvError: 56,
  /** The peer's certificate is not trusted: `--cacert`/`-k` for the origin, `--proxy-cacert`/`--proxy-insecure` for the proxy. */
  certificate: 60,
  /** A `--cacert` or `--proxy-cacert` file cannot be read. */
  caFile: 77,
} as const;

const NO_CONNECTION = /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|ENETDOWN|EADDRNOTAVAIL|ETIMEDOUT)$/;
const TIMEOUT = /^(UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT)$/;
const HANDSHAKE = /^(ERR_SSL_\w+|EPROTO|ERR_TLS_\w+)$/;
const BROKEN = /^(UND_ERR_SOCKET|ECONNRESET|EPIPE|ECONNABORTED|UND_ERR_CLOSED)$/;

/** The error, then each `cause` under it (fetch wraps everything in `TypeError: fetch failed`). */
export function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e !== undefined && chain.length < 10; e = e instanceof Error ? e.cause : undefined) chain.push(e);
  return chain;
}

function codesOf(chain: readonly unknown[]): string[] {
  const codes: string[] = [];
  for (const e of chain) {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code === 'string') codes.push(code);
  }
  return codes;
}

/** The exit code for a failed transfer (not for HTTP statuses: those are the caller's, with `-f`). */
export function exitCodeFor(error: unknown): number {
  const chain = causes(error);
  const ours = chain.find((e): e is JaatoProxyError => e instanceof JaatoProxyError);
  const below = codesOf(ours ? chain.slice(chain.indexOf(ours) + 1) : chain);
  const has = (pattern: RegExp): boolean => below.some((c) => pattern.test(c));
  const certificate = certificateProblem(below) !== undefined;
  if (ours) {
    switch (ours.code) {
      case 'ERR_JAATO_PROXY_TIMEOUT':
        return FETCH_EXIT.timeout;
      case 'ERR_JAATO_PROXY_TUNNEL':
        return FETCH_EXIT.recvError;
      case 'ERR_JAATO_INVALID_URL':
        return FETCH_EXIT.badUrl;
      case 'ERR_JAATO_PROXY_CONNECT':
        if (has(DNS)) return FETCH_EXIT.proxyResolve;
        if (certificate) return FETCH_EXIT.certificate;
        if (has(HANDSHAKE)) return FETCH_EXIT.tls;
        if (has(BROKEN)) return FETCH_EXIT.recvError;
        return FETCH_EXIT.connect;
      default:
        return FETCH_EXIT.failure;
    }
  }
  if (has(/^ERR_INVALID_URL$/)) return FETCH_EXIT.badUrl;
  if (has(DNS)) return FETCH_EXIT.hostResolve;
  if (has(NO_CONNECTION)) return FETCH_EXIT.connect;
  if (has(TIMEOUT)) return FETCH_EXIT.timeout;
  if (certificate) return FETCH_EXIT.certificate;
  if (has(HANDSHAKE)) return FETCH_EXIT.tls;
  if (has(BROKEN)) return FETCH_EXIT.recvError;
  return FETCH_EXIT.failure;
}

/**
 * The one line for stderr: our error's message and code when there is one, else the innermost
 * message (fetch's own "fetch failed" says nothing), with the option that fixes a certificate error.
 */
export function failureMessage(error: unknown, code: number): string {
  const chain = causes(error);
  const ours = chain.find((e): e is JaatoProxyError => e instanceof JaatoProxyError);
  const innermost = [...chain].reverse().find((e): e is Error => e instanceof Error && e.message !== '' && e.message !== 'fetch failed');
  let text = ours ? `${ours.message} [${ours.code}]` : (innermost?.message ?? String(error));
  // OpenSSL's message is a dump ("80DC…:error:0A00010B:SSL routines:…"); its `reason` is the words.
  const reason = (innermost as { reason?: unknown } | undefined)?.reason;
  if (!ours && code === FETCH_EXIT.tls && typeof reason === 'string') text = `TLS handshake failed: ${reason}`;
  if (code === FETCH_EXIT.certificate) {
    // A CA fixes an untrusted certificate only; an expired one is the clock's or the owner's to fix.
    const dated = certificateProblem(codesOf(chain));
    if (dated === 'expired' || dated === 'not yet valid') text += ` (the certificate is ${dated === 'expired' ? 'expired' : 'not valid yet'}: check this machine's clock; if it is right, the certificate must be renewed)`;
    else text += ours ? ' (trust the proxy\'s CA with --proxy-cacert <file>, or skip the check with --proxy-insecure)' : ' (trust the origin\'s CA with --cacert <file>, or skip the check with -k)';
  }
  return text;
}
