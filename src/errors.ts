/**
 * Every error this library throws is a `JaatoProxyError` with a stable `code`, so callers can branch on
 * the code rather than on message text. Messages carry the remedy and never a token or a password.
 */
export class JaatoProxyError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
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
