/**
 * Every error this library throws is a `JaatoProxyError` with a stable `code`, so callers can branch on
 * the code rather than on message text. Messages carry the remedy and never a token or a password.
 */

/** Every code a `JaatoProxyError` can carry (the README's table of codes, plus internal ones). */
export const ERROR_CODES = [
  'ERR_JAATO_INVALID_PROXY_URL',
  'ERR_JAATO_UNSUPPORTED_PROXY_SCHEME',
  'ERR_JAATO_INVALID_OPTION',
  'ERR_JAATO_INVALID_URL',
  'ERR_JAATO_KERBEROS',
  'ERR_JAATO_KERBEROS_LIBRARY_MISSING',
  'ERR_JAATO_KERBEROS_ACCOUNT_DISABLED',
  'ERR_JAATO_KERBEROS_ACCOUNT_EXPIRED',
  'ERR_JAATO_KERBEROS_PASSWORD_EXPIRED',
  'ERR_JAATO_KERBEROS_NO_COMMON_ENCTYPE',
  'ERR_JAATO_KERBEROS_KEY_VERSION',
  'ERR_JAATO_KERBEROS_NO_CREDENTIALS',
  'ERR_JAATO_KERBEROS_TICKET_EXPIRED',
  'ERR_JAATO_KERBEROS_KDC_UNREACHABLE',
  'ERR_JAATO_KERBEROS_UNKNOWN_SPN',
  'ERR_JAATO_KERBEROS_CLOCK_SKEW',
  'ERR_JAATO_KERBEROS_MUTUAL_AUTH',
  'ERR_JAATO_NTLM',
  'ERR_JAATO_NTLM_UNAVAILABLE',
  'ERR_JAATO_NTLM_NO_CREDENTIALS',
  'ERR_JAATO_NTLM_HELPER',
  'ERR_JAATO_PROXY_CONNECT',
  'ERR_JAATO_CONNECT_TIMEOUT',
  'ERR_JAATO_PROXY_TIMEOUT',
  'ERR_JAATO_PROXY_TUNNEL',
  'ERR_JAATO_PROXY_HEADER_TOO_LARGE',
  'ERR_JAATO_PROXY_AUTH',
  'ERR_JAATO_PROXY_MUTUAL_AUTH',
  'ERR_JAATO_BODY_REPLAY_LIMIT',
  'ERR_JAATO_PAC_FETCH',
  'ERR_JAATO_PAC_EVALUATION',
  'ERR_JAATO_LOCAL_PROXY',
  // The lab's (the demo and the tests), never thrown by the library.
  'ERR_JAATO_LAB_SETUP',
] as const;

/** A code as a union of literals, so that `err.code === 'ERR_JAATO_PROXI_AUTH'` fails to compile. */
export type JaatoProxyErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(code: unknown): code is JaatoProxyErrorCode {
  return (ERROR_CODES as readonly unknown[]).includes(code);
}

/**
 * Shared by every copy of the package loaded in one process (two versions in node_modules, ESM and a
 * bundled copy): `instanceof` recognises an error made by another copy, as undici's errors do with
 * `Symbol.for('undici.error.UND_ERR')`.
 */
const kJaatoProxyError = Symbol.for('jaato-proxy.error');

export class JaatoProxyError extends Error {
  /** Marks every class of the family, in every copy (a static: subclasses inherit it). */
  static readonly [kJaatoProxyError] = true;

  /**
   * True for an instance of this class or a subclass made by any copy: its prototype chain holds this
   * class, or a branded class of the same name (the same class, from another copy).
   */
  static override [Symbol.hasInstance](instance: unknown): boolean {
    if (typeof instance !== 'object' || instance === null) return false;
    for (let p: unknown = Object.getPrototypeOf(instance); p !== null && typeof p === 'object'; p = Object.getPrototypeOf(p)) {
      const c: unknown = Object.getOwnPropertyDescriptor(p, 'constructor')?.value;
      if (c === this) return true;
      if (typeof c === 'function' && (c as { [kJaatoProxyError]?: unknown })[kJaatoProxyError] === true && c.name === this.name) return true;
    }
    return false;
  }

  readonly code: JaatoProxyErrorCode;

  constructor(code: JaatoProxyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The library's own error inside what a client wrapped it in (fetch: `TypeError: fetch failed` with
 * `cause`; axios and got: `cause`), or the outermost error when there is none of ours.
 */
export function unwrapError(error: unknown): unknown {
  let e = error;
  while (!(e instanceof JaatoProxyError) && e instanceof Error && e.cause !== undefined) e = e.cause;
  return e;
}
