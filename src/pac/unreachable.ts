import { ProxyTimeoutError } from '../transport/errors.js';

/** Socket errors that mean nothing answered at that address: the next PAC entry may do better. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/**
 * Whether a request's failure means its proxy could not be reached at all (refused, no route, no such
 * name, no answer to the connect), as browsers judge it before trying a PAC's next entry. A failure
 * after the proxy answered (a 407, a refused tunnel, a reset mid-request) is not: the request may have
 * had effects, so it is never sent elsewhere.
 */
export function proxyUnreachable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof ProxyTimeoutError) return e.phase === 'connect';
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE.has(code)) return true;
  }
  return false;
}
