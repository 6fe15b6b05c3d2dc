import { channel } from 'node:diagnostics_channel';
import { debuglog, format } from 'node:util';

const log = debuglog('jaato-proxy');

/**
 * Each debug line is also published here as `{ message }`, so tools (the CLI's `fetch -v`) can show the
 * proxy exchange without NODE_DEBUG.
 */
export const debugChannel = channel('jaato-proxy:debug');

/**
 * The library's debug log: `NODE_DEBUG=jaato-proxy`. Lines name proxies redacted and never carry a
 * token or a password: callers pass only safe values.
 */
export function debug(message: string, ...args: unknown[]): void {
  log(message, ...args);
  if (debugChannel.hasSubscribers) debugChannel.publish({ message: format(message, ...args) });
}
