/**
 * Bounds every client of this library shares by default, defined once. 300 s is undici's own
 * headersTimeout/bodyTimeout, kept for node:http too so both families wait alike.
 */
export const DEFAULT_RESPONSE_TIMEOUT = 300_000;
