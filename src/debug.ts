import { debuglog } from 'node:util';

/**
 * The library's debug log: `NODE_DEBUG=jaato-proxy`. Lines name proxies redacted and never carry a
 * token or a password: callers pass only safe values.
 */
export const debug = debuglog('jaato-proxy');
